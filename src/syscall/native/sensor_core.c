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
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
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

struct tc_core {
	struct tc_sensor_bpf *skel;
	struct bpf_link *links[4];
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

/* ---- open / close ----------------------------------------------------------- */

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
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		fail(err, errlen, "counting possible CPUs failed", c->ncpus, 0);
		free(c);
		return NULL;
	}
	uint32_t per = o->cpus_per_ring ? o->cpus_per_ring : 1;
	c->nrings = (c->ncpus + per - 1) / per;

	log_begin();
	c->skel = tc_sensor_bpf__open();
	if (!c->skel) {
		rc = -errno;
		fail(err, errlen, "opening the BPF object failed", rc, 1);
		goto out_log;
	}
	c->skel->rodata->sensor_tgid = o->exclude_tgid;
	c->skel->rodata->boot_time_ns = o->boot_time_ns;
	memcpy(c->skel->data_interesting->interesting, o->interesting, TC_INTERESTING_SIZE);
	if ((rc = bpf_map__set_max_entries(c->skel->maps.ringbufs, c->ncpus)) ||
	    (rc = bpf_map__set_max_entries(c->skel->maps.scratch, c->ncpus * TC_SCRATCH_SLOTS))) {
		fail(err, errlen, "sizing the BPF maps failed", rc, 1);
		goto out_log;
	}
	/*
	 * The verifier gives up with EAGAIN when a signal is pending, and a Node
	 * process gets signals at any time (SIGPROF from --cpu-prof, SIGCHLD,
	 * SIGWINCH...). Block them for the load on this thread; they are
	 * delivered when the mask is restored.
	 */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	rc = tc_sensor_bpf__load(c->skel);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (rc) {
		char prog[64];
		const char *name = log_failed_prog(prog, sizeof(prog));
		if (name)
			snprintf(what, sizeof(what), "loading BPF program %s failed", name);
		else
			snprintf(what, sizeof(what), "loading the BPF object failed");
		fail(err, errlen, what, rc, 1);
		goto out_log;
	}

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

	struct bpf_program *progs[4] = {c->skel->progs.sys_exit, c->skel->progs.sched_process_exec,
					c->skel->progs.sched_process_fork, c->skel->progs.sched_process_exit};
	for (int i = 0; i < 4; i++) {
		c->links[i] = bpf_program__attach(progs[i]);
		if (!c->links[i]) {
			rc = -errno;
			snprintf(what, sizeof(what), "attaching BPF program %s failed", bpf_program__name(progs[i]));
			fail(err, errlen, what, rc, 1);
			goto out_log;
		}
	}
	log_end();
	return c;

out_log:
	log_end();
	tc_core_close(c);
	return NULL;
}

void tc_core_set_interesting(struct tc_core *c, const uint8_t *table)
{
	/* The data section is mmapped: the programs see each byte as it lands. */
	memcpy(c->skel->data_interesting->interesting, table, TC_INTERESTING_SIZE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
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
	for (int i = 0; i < 4; i++)
		if (c->links[i])
			bpf_link__destroy(c->links[i]);
	if (c->rings) {
		for (int i = 0; i < c->nrings; i++)
			ring_unmap(&c->rings[i], c->page);
		free(c->rings);
	}
	if (c->skel)
		tc_sensor_bpf__destroy(c->skel);
	free(c);
}
