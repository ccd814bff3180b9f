/*
 * Loading the BPF programs and reading their ring buffers (sensor_core.h).
 *
 * The rings are read directly through their mmapped pages, as Falco's libpman
 * does, rather than through libbpf's ring_buffer__consume(): libbpf 1.1 can
 * only drain a ring completely, and we need to stop when a batch is full and
 * to merge the per-CPU rings by timestamp (a thread that migrates between
 * CPUs must not have its close delivered before its open).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "sensor_core.h"
#include "tc_sensor_bpf.skel.h"

/* A ring as userspace maps it: consumer page (rw), producer page + data mapped twice (ro). */
struct tc_ring {
	int fd;
	uint64_t mask;
	unsigned long *consumer_pos;
	unsigned long *producer_pos;
	uint8_t *data;
	size_t data_map_len;
	uint64_t cons;       /* our consumer position (published every few records) */
	uint64_t prod;       /* last producer position seen */
	unsigned unpublished;
};

/* One syscall's fexit program on this kernel (sensor.bpf.c, "per-syscall fexit programs"). */
struct tc_fexit {
	const char *name;         /* the syscall (TC_SYSCALLS); NULL: not a syscall with a program */
	struct bpf_program *prog; /* loaded and ready to attach; NULL: none on this kernel */
	char func[48];            /* the kernel function it attaches to */
	struct bpf_link *link;    /* attached while the syscall is interesting */
};

struct tc_core {
	struct tc_sensor_bpf *skel;
	struct bpf_link *sched_links[3];
	struct bpf_link *sys_exit_link;
	enum tc_attach_mode attach; /* what was asked */
	int hook;                   /* TC_HOOK_* recording now; -1 before the first attach */
	bool fexit_loaded;          /* the fexit programs this kernel has are loaded */
	char reason[320];           /* why AUTO records through sys_exit */
	uint64_t load_ns, attach_ns;
	struct tc_fexit fx[TC_NR_SYSCALLS];
	int ncpus;
	int nrings;
	uint64_t ring_bytes;
	size_t page;
	struct tc_ring *rings;
};

/* ---- libbpf log capture ---------------------------------------------------- */

/* libbpf's messages while opening, kept to explain a failure. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_buf;
static size_t log_len, log_cap;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	if (level == LIBBPF_DEBUG)
		return 0; /* relocation chatter; warnings and the verifier log come at higher levels */
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (log_len + n + 1 > log_cap) {
		size_t cap = log_cap ? log_cap * 2 : 65536;
		while (cap < log_len + n + 1)
			cap *= 2;
		if (cap > (16u << 20))
			return 0; /* verifier logs can be huge: keep the first 16 MiB */
		char *nb = realloc(log_buf, cap);
		if (!nb)
			return 0;
		log_buf = nb;
		log_cap = cap;
	}
	memcpy(log_buf + log_len, line, n);
	log_len += n;
	log_buf[log_len] = 0;
	return 0;
}

static void log_begin(void)
{
	pthread_mutex_lock(&log_lock);
	log_len = 0;
	if (log_buf)
		log_buf[0] = 0;
	libbpf_set_print(capture_print);
}

static void log_end(void)
{
	libbpf_set_print(NULL);
	pthread_mutex_unlock(&log_lock);
}

/* The last `lines` lines of the captured log. */
static const char *log_tail(int lines)
{
	if (!log_buf || !log_len)
		return "";
	const char *p = log_buf + log_len;
	int seen = 0;
	while (p > log_buf) {
		p--;
		if (*p == '\n' && p != log_buf + log_len - 1 && ++seen >= lines) {
			p++;
			break;
		}
	}
	return p;
}

/* Name of the program the log says failed to load, or NULL. */
static const char *log_failed_prog(char *name, size_t len)
{
	static const char *const marks[] = {"BPF program load failed", "failed to load", "failed to resolve CO-RE"};
	if (!log_buf)
		return NULL;
	for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
		const char *hit = strstr(log_buf, marks[m]);
		if (!hit)
			continue;
		/* "libbpf: prog 'NAME': ..." on the same line */
		const char *line = hit;
		while (line > log_buf && line[-1] != '\n')
			line--;
		const char *q = strstr(line, "prog '");
		if (q && q < hit) {
			q += 6;
			const char *e = strchr(q, '\'');
			if (e && (size_t)(e - q) < len) {
				memcpy(name, q, e - q);
				name[e - q] = 0;
				return name;
			}
		}
	}
	return NULL;
}

/* ---- environment facts for error messages --------------------------------- */

static void describe_env(char *out, size_t len)
{
	int btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	unsigned long long capeff = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (f) {
		char line[256];
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapEff: %llx", &capeff) == 1)
				break;
		fclose(f);
	}
	char release[128] = "unknown";
	f = fopen("/proc/sys/kernel/osrelease", "r");
	if (f) {
		if (fgets(release, sizeof(release), f))
			release[strcspn(release, "\n")] = 0;
		fclose(f);
	}
#define HAS(bit) ((capeff >> (bit)) & 1 ? "yes" : "no")
	snprintf(out, len,
		 "kernel BTF at /sys/kernel/btf/vmlinux: %s; running as uid %u (CAP_BPF: %s, CAP_PERFMON: %s, "
		 "CAP_SYS_ADMIN: %s, CAP_SYS_RESOURCE: %s); kernel %s",
		 btf ? "present" : "missing", (unsigned)geteuid(), HAS(39), HAS(38), HAS(21), HAS(24), release);
#undef HAS
}

static void fail(char *err, size_t errlen, const char *what, int code, int with_log)
{
	char env[512];
	describe_env(env, sizeof(env));
	if (with_log && log_len)
		snprintf(err, errlen, "%s: %s; %s\nlibbpf log (last lines):\n%s", what, strerror(code < 0 ? -code : code),
			 env, log_tail(30));
	else
		snprintf(err, errlen, "%s: %s; %s", what, strerror(code < 0 ? -code : code), env);
}

/* ---- rings ----------------------------------------------------------------- */

static int ring_map(struct tc_ring *r, int fd, uint64_t size, size_t page)
{
	r->fd = fd;
	r->mask = size - 1;
	r->consumer_pos = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->consumer_pos == MAP_FAILED) {
		r->consumer_pos = NULL;
		return -errno;
	}
	/* Data pages are mapped twice in a row, so a record that wraps is contiguous. */
	r->data_map_len = page + 2 * size;
	void *p = mmap(NULL, r->data_map_len, PROT_READ, MAP_SHARED, fd, page);
	if (p == MAP_FAILED) {
		r->producer_pos = NULL;
		return -errno;
	}
	r->producer_pos = p;
	r->data = (uint8_t *)p + page;
	r->cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	r->prod = r->cons;
	return 0;
}

static void ring_unmap(struct tc_ring *r, size_t page)
{
	if (r->consumer_pos)
		munmap(r->consumer_pos, page);
	if (r->producer_pos)
		munmap(r->producer_pos, r->data_map_len);
	if (r->fd >= 0)
		close(r->fd);
	r->consumer_pos = NULL;
	r->producer_pos = NULL;
	r->fd = -1;
}

static inline void ring_publish(struct tc_ring *r)
{
	if (r->unpublished) {
		__atomic_store_n(r->consumer_pos, r->cons, __ATOMIC_RELEASE);
		r->unpublished = 0;
	}
}

/*
 * The next committed record of a ring, or NULL when there is none yet.
 * Skips discarded samples. *len is the sample length.
 */
static const uint8_t *ring_head(struct tc_ring *r, uint32_t *len)
{
	for (;;) {
		if (r->cons >= r->prod) {
			r->prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
			if (r->cons >= r->prod)
				return NULL;
		}
		const uint32_t *hdr = (const uint32_t *)(r->data + (r->cons & r->mask));
		uint32_t l = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (l & BPF_RINGBUF_BUSY_BIT)
			return NULL; /* reserved, not yet committed: later records must wait */
		uint32_t sample = l & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		if (l & BPF_RINGBUF_DISCARD_BIT) {
			r->cons += (sample + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
			r->unpublished++;
			continue;
		}
		*len = sample;
		return (const uint8_t *)hdr + BPF_RINGBUF_HDR_SZ;
	}
}

static inline void ring_advance(struct tc_ring *r, uint32_t len)
{
	r->cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
	if (++r->unpublished >= 64)
		ring_publish(r);
}

size_t tc_core_read(struct tc_core *c, uint8_t *dst, size_t cap, size_t *nrec, int *full)
{
	size_t used = 0, n = 0;
	*full = 0;
	for (;;) {
		/* The oldest head across the rings (linear: there are few rings per consumer). */
		int best = -1;
		uint64_t best_ts = UINT64_MAX;
		const uint8_t *best_rec = NULL;
		uint32_t best_len = 0;
		for (int i = 0; i < c->nrings; i++) {
			uint32_t len;
			const uint8_t *rec = ring_head(&c->rings[i], &len);
			if (!rec)
				continue;
			uint64_t ts;
			memcpy(&ts, rec + TC_HDR_TS, sizeof(ts));
			if (ts < best_ts || best < 0) {
				best = i;
				best_ts = ts;
				best_rec = rec;
				best_len = len;
			}
		}
		if (best < 0)
			break;
		struct tc_ring *r = &c->rings[best];
		uint32_t rec_len;
		memcpy(&rec_len, best_rec + TC_HDR_LEN, sizeof(rec_len));
		if (rec_len != best_len || rec_len < TC_HDR_SIZE || (rec_len & 7)) {
			/* Not a record we wrote: skip it rather than corrupt the stream. */
			ring_advance(r, best_len);
			continue;
		}
		if (used + rec_len > cap) {
			*full = 1;
			break;
		}
		memcpy(dst + used, best_rec, rec_len);
		used += rec_len;
		n++;
		ring_advance(r, best_len);
	}
	for (int i = 0; i < c->nrings; i++)
		ring_publish(&c->rings[i]);
	*nrec = n;
	return used;
}

/* ---- syscall programs: one sys_exit, or a fexit program per syscall ---------- */

/*
 * Only x86_64 has them: the programs read x86_64 pt_regs and attach to the
 * kernel's x86_64 syscall wrappers. Elsewhere AUTO means sys_exit.
 */
#if defined(__x86_64__)
#define TC_FEXIT_ARCH 1
#endif

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The kernel's name of a syscall's function where it is not the syscall's (umount2 is sys_umount). */
static const char *kernel_syscall_name(const char *name)
{
	return strcmp(name, "umount2") == 0 ? "umount" : name;
}

#ifdef TC_FEXIT_ARCH
/*
 * Loads a fexit program that does nothing on function btf_id: 0, or -errno
 * when the kernel refuses fexit programs (no trampolines on this machine,
 * or a security policy), found out in a millisecond rather than by a failed
 * load of the whole object.
 */
static int probe_fexit(int btf_id)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FEXIT, .attach_btf_id = btf_id);
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved); /* see load_skeleton */
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "tc_fexit_probe", "Dual MIT/GPL", insns, 2, &opts);
	int rc = fd < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* True when the kernel's BTF has function fn with nargs parameters (what the program's context assumes). */
static bool btf_has_func(const struct btf *btf, const char *fn, unsigned nargs)
{
	int id = btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC);
	if (id <= 0)
		return false;
	const struct btf_type *f = btf__type_by_id(btf, id);
	const struct btf_type *proto = f ? btf__type_by_id(btf, f->type) : NULL;
	return proto && btf_is_func_proto(proto) && btf_vlen(proto) == nargs;
}
#endif

/*
 * Picks each syscall's fexit program and target, before load: fx_<name> on
 * __x64_sys_<name>(regs), or for TC_SYSCALLS_NOARGS fx0_<name> on
 * __do_sys_<name>(void) when the BTF lacks the wrapper. Every fexit program
 * is left out of the load except the picked ones, and all of them when !want.
 * Returns false, with why, when no fexit program can be used here.
 */
static bool plan_fexit(struct tc_core *c, bool want, char *why, size_t len)
{
	struct bpf_program *wrapper[TC_NR_SYSCALLS] = {0}, *noargs[TC_NR_SYSCALLS] = {0};
	memset(c->fx, 0, sizeof(c->fx));
#ifdef TC_FEXIT_ARCH
#define WRAPPER(sc, nr)                                    \
	wrapper[nr] = c->skel->progs.fx_##sc;              \
	c->fx[nr].name = #sc;
	TC_SYSCALLS(WRAPPER)
#undef WRAPPER
#define NOARGS(sc) noargs[TC_NR_##sc] = c->skel->progs.fx0_##sc;
	TC_SYSCALLS_NOARGS(NOARGS)
#undef NOARGS
#endif
	for (int nr = 0; nr < TC_NR_SYSCALLS; nr++) {
		if (wrapper[nr])
			bpf_program__set_autoload(wrapper[nr], false);
		if (noargs[nr])
			bpf_program__set_autoload(noargs[nr], false);
	}
	if (!want)
		return true;
#ifndef TC_FEXIT_ARCH
	snprintf(why, len, "per-syscall fexit programs exist for x86_64 only");
	return false;
#else
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf) {
		snprintf(why, len, "reading the kernel's BTF failed: %s", strerror(errno));
		return false;
	}
	for (int nr = 0; nr < TC_NR_SYSCALLS; nr++) {
		struct tc_fexit *f = &c->fx[nr];
		if (!wrapper[nr])
			continue;
		struct bpf_program *p = NULL;
		snprintf(f->func, sizeof(f->func), "__x64_sys_%s", kernel_syscall_name(f->name));
		if (btf_has_func(btf, f->func, 1)) {
			p = wrapper[nr];
		} else if (noargs[nr]) {
			/* SYSCALL_DEFINE0 wrappers are often missing from BTF; the body is at the same address. */
			char alt[sizeof(f->func)];
			snprintf(alt, sizeof(alt), "__do_sys_%s", f->name);
			if (btf_has_func(btf, alt, 0)) {
				p = noargs[nr];
				memcpy(f->func, alt, sizeof(alt));
			}
		}
		if (p && !bpf_program__set_attach_target(p, 0, f->func) && !bpf_program__set_autoload(p, true))
			f->prog = p;
	}
	const char *probe_fn = "__x64_sys_close";
	int id = btf__find_by_name_kind(btf, probe_fn, BTF_KIND_FUNC);
	int rc = id > 0 ? probe_fexit(id) : -ENOENT;
	btf__free(btf);
	if (rc) {
		snprintf(why, len, "the kernel refuses fexit programs (a probe on %s: %s)", probe_fn, strerror(-rc));
		for (int nr = 0; nr < TC_NR_SYSCALLS; nr++)
			if (c->fx[nr].prog) {
				bpf_program__set_autoload(c->fx[nr].prog, false);
				c->fx[nr].prog = NULL;
			}
		return false;
	}
	return true;
#endif
}

/* The first interesting syscall without a fexit program (why says so), or -1. */
static int fexit_missing(const struct tc_core *c, const uint8_t *table, char *why, size_t len)
{
	for (int nr = 0; nr < TC_NR_SYSCALLS; nr++) {
		if (!table[nr] || c->fx[nr].prog)
			continue;
		if (c->fx[nr].name)
			snprintf(why, len, "syscall %s (%d): the kernel's BTF has no %s to attach a fexit program to",
				 c->fx[nr].name, nr, c->fx[nr].func);
		else
			snprintf(why, len,
				 "syscall %d has no fexit program (only the syscalls whose parameters the sensor "
				 "records have one)",
				 nr);
		return nr;
	}
	return -1;
}

static void write_table(struct tc_core *c, const uint8_t *table)
{
	/* The data section is mmapped: the programs see each byte as it lands. */
	memcpy(c->skel->data_interesting->interesting, table, TC_INTERESTING_SIZE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Tells the programs which of them records (the other kind returns at once). */
static void set_hook(struct tc_core *c, int hook)
{
	__atomic_store_n(&c->skel->data_interesting->syscall_hook, (uint8_t)hook, __ATOMIC_SEQ_CST);
	c->hook = hook;
}

static void detach_fexit(struct tc_core *c, int nr)
{
	if (c->fx[nr].link) {
		bpf_link__destroy(c->fx[nr].link);
		c->fx[nr].link = NULL;
	}
}

/*
 * Records through the fexit programs of table's syscalls: attaches the
 * missing ones, switches from sys_exit if it was in use, then detaches the
 * programs of syscalls no longer interesting. Every program has been checked
 * to exist (fexit_missing). On failure nothing changed.
 */
static int use_fexit(struct tc_core *c, const uint8_t *table, char *why, size_t len)
{
	bool added[TC_NR_SYSCALLS] = {0};
	for (int nr = 0; nr < TC_NR_SYSCALLS; nr++) {
		if (!table[nr] || c->fx[nr].link)
			continue;
		c->fx[nr].link = bpf_program__attach(c->fx[nr].prog);
		if (!c->fx[nr].link) {
			int rc = -errno;
			snprintf(why, len, "attaching a fexit program to %s failed: %s", c->fx[nr].func, strerror(-rc));
			for (int i = 0; i < nr; i++)
				if (added[i])
					detach_fexit(c, i);
			return rc;
		}
		added[nr] = true;
	}
	write_table(c, table);
	if (c->hook != TC_HOOK_FEXIT) {
		set_hook(c, TC_HOOK_FEXIT);
		if (c->sys_exit_link) {
			bpf_link__destroy(c->sys_exit_link);
			c->sys_exit_link = NULL;
		}
	}
	for (int nr = 0; nr < TC_NR_SYSCALLS; nr++)
		if (!table[nr])
			detach_fexit(c, nr);
	return 0;
}

/* Records through sys_exit: attaches it, switches, then detaches every fexit program. */
static int use_sys_exit(struct tc_core *c, const uint8_t *table, char *err, size_t errlen)
{
	if (!c->sys_exit_link) {
		c->sys_exit_link = bpf_program__attach(c->skel->progs.sys_exit);
		if (!c->sys_exit_link) {
			int rc = -errno;
			snprintf(err, errlen, "attaching BPF program sys_exit failed: %s", strerror(-rc));
			return rc;
		}
	}
	write_table(c, table);
	set_hook(c, TC_HOOK_SYS_EXIT);
	for (int nr = 0; nr < TC_NR_SYSCALLS; nr++)
		detach_fexit(c, nr);
	return 0;
}

/*
 * Attaches what table needs in the mode asked: FEXIT fails (err) when a
 * syscall has no fexit program or one does not attach, AUTO then records
 * through sys_exit and keeps the reason. The hook switches in the kernel
 * with both kinds attached, so no syscall goes unrecorded or is recorded
 * twice while it happens (but one in flight at that moment).
 */
static int apply(struct tc_core *c, const uint8_t *table, char *err, size_t errlen)
{
	char why[sizeof(c->reason)] = "";
	if (c->attach != TC_ATTACH_SYS_EXIT && c->fexit_loaded) {
		int rc = 0;
		if (fexit_missing(c, table, why, sizeof(why)) < 0 && !(rc = use_fexit(c, table, why, sizeof(why)))) {
			c->reason[0] = 0;
			return 0;
		}
		if (c->attach == TC_ATTACH_FEXIT) {
			snprintf(err, errlen, "fexit attach mode: %s", why);
			return rc ? rc : -EOPNOTSUPP;
		}
	} else if (c->attach == TC_ATTACH_FEXIT) {
		snprintf(err, errlen, "fexit attach mode: %s", c->reason);
		return -EOPNOTSUPP;
	}
	int rc = use_sys_exit(c, table, err, errlen);
	if (!rc && why[0])
		memcpy(c->reason, why, sizeof(c->reason));
	return rc;
}

/* ---- open / close ----------------------------------------------------------- */

/*
 * Opens the skeleton and loads it, with the fexit programs this kernel has
 * when want_fexit, and sys_exit unless the mode is FEXIT. AUTO retries once
 * without the fexit programs if loading them failed. Returns 0 or -errno
 * (err written).
 */
static int load_skeleton(struct tc_core *c, const struct tc_core_opts *o, char *err, size_t errlen)
{
	char what[256];
	int rc;
	bool want_fexit = o->attach != TC_ATTACH_SYS_EXIT;
	for (;;) {
		c->skel = tc_sensor_bpf__open();
		if (!c->skel) {
			rc = -errno;
			fail(err, errlen, "opening the BPF object failed", rc, 1);
			return rc;
		}
		c->skel->rodata->sensor_tgid = o->exclude_tgid;
		c->skel->rodata->boot_time_ns = o->boot_time_ns;
		memcpy(c->skel->data_interesting->interesting, o->interesting, TC_INTERESTING_SIZE);
		if ((rc = bpf_map__set_max_entries(c->skel->maps.ringbufs, c->ncpus)) ||
		    (rc = bpf_map__set_max_entries(c->skel->maps.scratch, c->ncpus * TC_SCRATCH_SLOTS))) {
			fail(err, errlen, "sizing the BPF maps failed", rc, 1);
			return rc;
		}
		if (!plan_fexit(c, want_fexit, c->reason, sizeof(c->reason))) {
			if (o->attach == TC_ATTACH_FEXIT) {
				snprintf(err, errlen, "fexit attach mode: %s", c->reason);
				return -EOPNOTSUPP;
			}
			want_fexit = false;
		}
		c->fexit_loaded = want_fexit;
		bpf_program__set_autoload(c->skel->progs.sys_exit, o->attach != TC_ATTACH_FEXIT);
		/*
		 * The verifier gives up with EAGAIN when a signal is pending, and a Node
		 * process gets signals at any time (SIGPROF from --cpu-prof, SIGCHLD,
		 * SIGWINCH...). Block them for the load on this thread; they are
		 * delivered when the mask is restored.
		 */
		sigset_t all, saved;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &saved);
		uint64_t t0 = mono_ns();
		rc = tc_sensor_bpf__load(c->skel);
		c->load_ns = mono_ns() - t0;
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
		if (!rc)
			return 0;
		char prog[64];
		const char *name = log_failed_prog(prog, sizeof(prog));
		if (want_fexit && o->attach == TC_ATTACH_AUTO) {
			/* A kernel that refuses a fexit program still runs sys_exit. */
			snprintf(c->reason, sizeof(c->reason), "loading the fexit programs failed (%s): %s",
				 name ? name : "the BPF object", strerror(-rc));
			tc_sensor_bpf__destroy(c->skel);
			c->skel = NULL;
			want_fexit = false;
			continue;
		}
		if (name)
			snprintf(what, sizeof(what), "loading BPF program %s failed", name);
		else
			snprintf(what, sizeof(what), "loading the BPF object failed");
		fail(err, errlen, what, rc, 1);
		return rc;
	}
}

struct tc_core *tc_core_open(const struct tc_core_opts *o, char *err, size_t errlen)
{
	char what[256];
	int rc;
	struct tc_core *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->page = sysconf(_SC_PAGESIZE);
	c->ring_bytes = o->ring_bytes;
	c->attach = o->attach;
	c->hook = -1;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		fail(err, errlen, "counting possible CPUs failed", c->ncpus, 0);
		free(c);
		return NULL;
	}
	uint32_t per = o->cpus_per_ring ? o->cpus_per_ring : 1;
	c->nrings = (c->ncpus + per - 1) / per;

	log_begin();
	if (load_skeleton(c, o, err, errlen))
		goto out_log;

	c->rings = calloc(c->nrings, sizeof(*c->rings));
	if (!c->rings) {
		fail(err, errlen, "allocating rings failed", -ENOMEM, 0);
		goto out_log;
	}
	for (int i = 0; i < c->nrings; i++)
		c->rings[i].fd = -1;
	int outer = bpf_map__fd(c->skel->maps.ringbufs);
	for (int i = 0; i < c->nrings; i++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "tc_ring", 0, 0, (uint32_t)o->ring_bytes, NULL);
		if (fd < 0) {
			rc = -errno;
			snprintf(what, sizeof(what), "creating ring buffer %d of %llu bytes failed", i,
				 (unsigned long long)o->ring_bytes);
			fail(err, errlen, what, rc, 1);
			goto out_log;
		}
		if ((rc = ring_map(&c->rings[i], fd, o->ring_bytes, c->page))) {
			snprintf(what, sizeof(what), "mapping ring buffer %d failed", i);
			fail(err, errlen, what, rc, 0);
			goto out_log;
		}
	}
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		uint32_t key = cpu;
		int fd = c->rings[cpu / per].fd;
		if (bpf_map_update_elem(outer, &key, &fd, BPF_ANY)) {
			rc = -errno;
			fail(err, errlen, "inserting a ring buffer into ringbufs failed", rc, 1);
			goto out_log;
		}
	}

	struct bpf_program *sched[3] = {c->skel->progs.sched_process_exec, c->skel->progs.sched_process_fork,
					c->skel->progs.sched_process_exit};
	for (int i = 0; i < 3; i++) {
		c->sched_links[i] = bpf_program__attach(sched[i]);
		if (!c->sched_links[i]) {
			rc = -errno;
			snprintf(what, sizeof(what), "attaching BPF program %s failed", bpf_program__name(sched[i]));
			fail(err, errlen, what, rc, 1);
			goto out_log;
		}
	}
	uint64_t t0 = mono_ns();
	if ((rc = apply(c, o->interesting, what, sizeof(what)))) {
		fail(err, errlen, what, rc, 1);
		goto out_log;
	}
	c->attach_ns = mono_ns() - t0;
	log_end();
	return c;

out_log:
	log_end();
	tc_core_close(c);
	return NULL;
}

int tc_core_set_interesting(struct tc_core *c, const uint8_t *table, char *err, size_t errlen)
{
	return apply(c, table, err, errlen);
}

int tc_core_hook(const struct tc_core *c)
{
	return c->hook;
}

const char *tc_core_attach_reason(const struct tc_core *c)
{
	return c->hook == TC_HOOK_SYS_EXIT && c->attach == TC_ATTACH_AUTO ? c->reason : "";
}

int tc_core_fexit_attached(const struct tc_core *c, uint16_t *out, int cap)
{
	int n = 0;
	for (int nr = 0; nr < TC_NR_SYSCALLS && n < cap; nr++)
		if (c->fx[nr].link)
			out[n++] = (uint16_t)nr;
	return n;
}

int tc_core_fexit_available(const struct tc_core *c, uint16_t *out, int cap)
{
	int n = 0;
	for (int nr = 0; nr < TC_NR_SYSCALLS && n < cap; nr++)
		if (c->fexit_loaded && c->fx[nr].prog)
			out[n++] = (uint16_t)nr;
	return n;
}

uint64_t tc_core_load_ns(const struct tc_core *c)
{
	return c->load_ns;
}

uint64_t tc_core_attach_ns(const struct tc_core *c)
{
	return c->attach_ns;
}

int tc_core_ncpus(const struct tc_core *c)
{
	return c->ncpus;
}

int tc_core_counters(struct tc_core *c, struct tc_counters *out)
{
	uint32_t zero = 0;
	/* Per-CPU values come back as ncpus entries of the value size rounded up to 8. */
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.counters), &zero, out))
		return -errno;
	return 0;
}

int tc_core_nrings(const struct tc_core *c)
{
	return c->nrings;
}

uint64_t tc_core_ring_size(const struct tc_core *c)
{
	return c->ring_bytes;
}

uint64_t tc_core_ring_used(const struct tc_core *c, int i)
{
	if (i < 0 || i >= c->nrings || !c->rings[i].producer_pos)
		return 0;
	uint64_t prod = __atomic_load_n(c->rings[i].producer_pos, __ATOMIC_ACQUIRE);
	uint64_t cons = __atomic_load_n(c->rings[i].consumer_pos, __ATOMIC_ACQUIRE);
	return prod > cons ? prod - cons : 0;
}

void tc_core_close(struct tc_core *c)
{
	if (!c)
		return;
	for (int i = 0; i < 3; i++)
		if (c->sched_links[i])
			bpf_link__destroy(c->sched_links[i]);
	if (c->sys_exit_link)
		bpf_link__destroy(c->sys_exit_link);
	for (int nr = 0; nr < TC_NR_SYSCALLS; nr++)
		detach_fexit(c, nr);
	if (c->rings) {
		for (int i = 0; i < c->nrings; i++)
			ring_unmap(&c->rings[i], c->page);
		free(c->rings);
	}
	if (c->skel)
		tc_sensor_bpf__destroy(c->skel);
	free(c);
}
