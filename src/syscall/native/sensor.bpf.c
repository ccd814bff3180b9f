// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Tiercel syscall sensor: CO-RE BPF programs (docs/sensor.md).
 *
 *   fexit/__x64_sys_<name>      one program per syscall of TC_SYSCALLS (the
 *                               addon attaches those the rules select): at
 *                               exit, result and parameters (paths read
 *                               complete, file and socket details from the
 *                               kernel objects)
 *   tp_btf/sys_exit             the same records for every interesting
 *                               syscall from one program, when the
 *                               per-syscall programs cannot be used
 *   tp_btf/sched_process_exec   execve/execveat that succeeded: the new program
 *   tp_btf/sched_process_fork   clone family, recorded for the parent
 *   tp_btf/sched_process_exit   procexit
 *
 * Records (wire.h) are built in a per-CPU scratch map and copied to the
 * CPU's ring buffer with BPF_RB_NO_WAKEUP; the addon polls the rings.
 * Parameters are written in the order src/syscall/schema.ts gives; one that
 * cannot be filled has length 0.
 *
 * Only x86_64 is supported: the record type is the x86_64 syscall number and
 * arguments come from the saved pt_regs (di, si, dx, r10, r8, r9).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sensor.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* ---- settings (set by the addon before load) ---------------------------- */

/* The sensor's own process: none of its threads is recorded. */
const volatile __u32 sensor_tgid = 0;
/* Epoch time of boot, ns: record ts = bpf_ktime_get_boot_ns() + boot_time_ns. */
const volatile __u64 boot_time_ns = 0;

/*
 * The in-kernel filter: one byte per event type (syscall number, or pseudo
 * event code for procexit). Lives in its own array map so that the addon can
 * rewrite it through mmap while the programs run.
 */
__u8 interesting[TC_INTERESTING_SIZE] SEC(".data.interesting");

/*
 * Which syscall programs record (TC_HOOK_*): the others return at once.
 * While the addon switches between sys_exit and the fexit programs both are
 * attached for a moment; this byte, flipped in between, keeps a syscall
 * from being recorded twice.
 */
__u8 syscall_hook SEC(".data.interesting") = TC_HOOK_SYS_EXIT;

/* ---- maps --------------------------------------------------------------- */

/* Template for the per-CPU ring buffers the addon creates and inserts. */
struct tc_ringbuf {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
};

/* ringbufs[cpu] = the ring buffer of that CPU (max_entries = possible CPUs). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct tc_ringbuf);
} ringbufs SEC(".maps");

struct tc_scratch {
	__u8 b[TC_SCRATCH_SIZE];
};

/* scratch[cpu * TC_SCRATCH_SLOTS + slot] (max_entries set by the addon). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_counters);
} counters SEC(".maps");

/* ---- kernel constants vmlinux.h does not carry -------------------------- */

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IWUSR 00200
#define S_IWGRP 00020
#define S_IWOTH 00002
#define S_IMMUTABLE 8 /* inode->i_flags */
#define SB_RDONLY 1
#define CAP_DAC_OVERRIDE 1
#define FMODE_CREATED (1U << 20)
#define O_F_CREATED 0x80000000U /* src/syscall/flags.ts */
#define PF_KTHREAD 0x00200000
#define TS_COMPAT 0x0002
#define SIGCHLD 17
#define CLONE_VM 0x00000100ULL
#define CLONE_FS 0x00000200ULL
#define CLONE_FILES 0x00000400ULL
#define CLONE_VFORK 0x00004000ULL
#define CLONE_THREAD 0x00010000ULL
#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define EINPROGRESS 115
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define EXE_WRITABLE 1
#define EXE_UPPER_LAYER 2
#define EXE_FROM_MEMFD 4
#define EXE_LOWER_LAYER 8

/* Offsets into a record stay below 64 KiB (and writes below 80 KiB). */
#define M 0xffff

/*
 * v & mask, done where the verifier sees it: clang drops range checks it
 * proves redundant, and the verifier then cannot bound a helper's size.
 */
#define BOUND(v, mask)                                               \
	({                                                           \
		__u64 _v = (__u64)(v);                               \
		asm volatile("%0 &= " #mask : "+r"(_v));             \
		_v;                                                  \
	})
#define OFF(x) BOUND(x, 0xffff)
#define TMP ((__u64 *)&r->b[TC_SCRATCH_TMP])

/* Field flavours for CO-RE across kernel versions (libbpf ignores ___suffix). */
struct kernfs_node___new {
	struct kernfs_node *__parent; /* 6.15+ */
} __attribute__((preserve_access_index));
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));
struct inode___v6_11 {
	time64_t i_mtime_sec;
	time64_t i_ctime_sec;
	u32 i_mtime_nsec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));
struct inode___v6_7 {
	struct timespec64 __i_mtime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___v6_6 {
	struct timespec64 i_mtime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___old {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

/* ---- record building ---------------------------------------------------- */

struct rec {
	__u8 *b;   /* scratch value: the record starts at b[0] */
	__u32 off; /* next parameter byte */
	__u32 idx; /* next parameter index */
};

static __always_inline struct tc_counters *counters_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline bool is_interesting(__u32 type)
{
	if (type >= TC_INTERESTING_SIZE)
		return false;
	return interesting[type] != 0;
}

/*
 * A word of each scratch slot that says a record is being built in it.
 * Tracing programs run with migration disabled but, on a preemptible
 * kernel, can be preempted: the kernel keeps one program from running twice
 * on a CPU at once, but the per-syscall fexit programs are many programs
 * sharing the syscall slot. A record started while the slot is taken is
 * dropped (counted in its category) rather than written over another.
 */
#define SLOT_BUSY(b) ((__u64 *)&(b)[TC_SCRATCH_SIZE - 16])

/*
 * Starts a record for the current thread in this CPU's scratch slot. Every
 * successful rec_begin() must be followed by rec_submit(), which frees the slot.
 */
static __always_inline bool rec_begin(struct rec *r, __u32 slot, __u16 type, __s64 res, __u16 nparams,
				      __u64 pid_tgid, enum tc_drop_category cat)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 key = cpu * TC_SCRATCH_SLOTS + slot;
	__u8 *b = bpf_map_lookup_elem(&scratch, &key);
	if (!b)
		return false;
	if (__sync_lock_test_and_set(SLOT_BUSY(b), 1) != 0) {
		struct tc_counters *c = counters_get();
		if (c) {
			c->events++;
			c->drops[cat & (TC_CAT_COUNT - 1)]++;
		}
		return false;
	}
	r->b = b;
	*(__u64 *)&b[TC_HDR_TS] = bpf_ktime_get_boot_ns() + boot_time_ns;
	*(__u32 *)&b[TC_HDR_TID] = (__u32)pid_tgid;
	*(__u32 *)&b[TC_HDR_TGID] = (__u32)(pid_tgid >> 32);
	*(__u16 *)&b[TC_HDR_TYPE] = type;
	*(__u16 *)&b[TC_HDR_CPU] = (__u16)cpu;
	*(__s64 *)&b[TC_HDR_RES] = res;
	*(__u16 *)&b[TC_HDR_NPARAMS] = nparams;
	r->off = TC_HDR_SIZE + 2 * (__u32)nparams;
	r->idx = 0;
	return true;
}

static __always_inline void set_len(struct rec *r, __u32 len)
{
	*(__u16 *)&r->b[(TC_HDR_SIZE + 2 * r->idx) & 0xff] = (__u16)len;
	r->idx++;
}

/*
 * Returns v with its value hidden from the verifier: a round trip through
 * map memory, whose contents it does not track. Used where paths through a
 * bounded loop differ only in counters and offsets, so that they reach the
 * next iteration in the same state and are pruned instead of multiplying.
 */
static __always_inline __u32 forget(struct rec *r, __u32 v)
{
	volatile __u32 *slot = (volatile __u32 *)&r->b[TC_SCRATCH_SIZE - 8];
	*slot = v;
	return *slot;
}

/* r->off, forgotten (and kept below 64 KiB: a record that long is dropped anyway). */
static __always_inline void off_forget(struct rec *r)
{
	__u32 o = r->off;
	if (o > 0xff00)
		o = 0xff00;
	r->off = forget(r, o) & 0xffff;
}

/* Pads, sets the length and copies the record to this CPU's ring buffer; frees the slot. */
static __always_inline void rec_submit(struct rec *r, enum tc_drop_category cat)
{
	struct tc_counters *c = counters_get();
	__u32 len = r->off;
	if (c)
		c->events++;
	if (len > TC_MAX_RECORD_SIZE - 8) {
		if (c)
			c->drops_max_size++;
		goto out;
	}
	*(__u64 *)&r->b[OFF(len)] = 0; /* zero the padding */
	len = (len + 7) & ~7U;
	*(__u32 *)&r->b[TC_HDR_LEN] = len;
	__u32 cpu = bpf_get_smp_processor_id();
	void *rb = bpf_map_lookup_elem(&ringbufs, &cpu);
	if (!rb) {
		if (c)
			c->drops_no_ring++;
		goto out;
	}
	if (bpf_ringbuf_output(rb, r->b, len & (TC_SCRATCH_SIZE - 1), BPF_RB_NO_WAKEUP) != 0 && c)
		c->drops[cat & (TC_CAT_COUNT - 1)]++;
out:
	*(volatile __u64 *)SLOT_BUSY(r->b) = 0; /* same CPU: a plain store releases it */
}

static __always_inline void p_absent(struct rec *r)
{
	set_len(r, 0);
}

static __always_inline void p_u64(struct rec *r, __u64 v)
{
	*(__u64 *)&r->b[OFF(r->off)] = v;
	r->off += 8;
	set_len(r, 8);
}

static __always_inline void p_u32(struct rec *r, __u32 v)
{
	*(__u32 *)&r->b[OFF(r->off)] = v;
	r->off += 4;
	set_len(r, 4);
}

/* A NUL-terminated user string, without its terminator (absent if empty or unreadable). */
static __always_inline void p_ustr(struct rec *r, const void *p, __u32 max)
{
	long n = 0;
	if (p)
		n = bpf_probe_read_user_str(&r->b[OFF(r->off)], max & (TC_MAX_PATH * 2 - 1), p);
	if (n <= 1) {
		set_len(r, 0);
		return;
	}
	n -= 1;
	r->off += n;
	set_len(r, n);
}

static __always_inline void p_kstr(struct rec *r, const void *p, __u32 max)
{
	long n = 0;
	if (p)
		n = bpf_probe_read_kernel_str(&r->b[OFF(r->off)], max & (TC_MAX_PATH * 2 - 1), p);
	if (n <= 1) {
		set_len(r, 0);
		return;
	}
	n -= 1;
	r->off += n;
	set_len(r, n);
}

/* ---- kernel object helpers ---------------------------------------------- */

/* A kernel dev_t as userspace sees it (st_dev, /proc/<pid>/stat tty_nr). */
static __always_inline __u32 encode_dev(__u32 dev)
{
	__u32 major = dev >> 20, minor = dev & 0xfffff;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/*
 * The file of an fd of the current task. task must be a BTF pointer
 * (bpf_get_current_task_btf()): the walk to the fd array is made of direct,
 * fault-safe loads, cheaper than one bpf_probe_read_kernel() per field.
 */
static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	struct file *f = NULL;
	if (fd < 0)
		return NULL;
	struct files_struct *files = task->files;
	if (!files)
		return NULL;
	struct fdtable *fdt = files->fdt;
	if (!fdt)
		return NULL;
	if ((unsigned long)fd >= fdt->max_fds)
		return NULL;
	struct file **fds = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void p_dev_ino(struct rec *r, struct file *f)
{
	if (!f) {
		p_absent(r);
		p_absent(r);
		return;
	}
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	p_u32(r, encode_dev(BPF_CORE_READ(ino, i_sb, s_dev)));
	p_u64(r, BPF_CORE_READ(ino, i_ino));
}

static __always_inline __u32 open_flags(__u32 flags, struct file *f)
{
	if (f && (BPF_CORE_READ(f, f_mode) & FMODE_CREATED))
		flags |= O_F_CREATED;
	return flags;
}

static __always_inline struct sock *file_sock(struct file *f)
{
	if (!f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *s = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(s, sk);
}

/* sun_path of a kernel unix_address at b[o]; returns its length (abstract names start with '@'). */
static __always_inline __u32 put_unix_path(__u8 *b, __u32 o, struct unix_address *a)
{
	if (!a)
		return 0;
	int len = BPF_CORE_READ(a, len) - 2;
	if (len <= 0)
		return 0;
	if (len > 108)
		len = 108;
	bpf_core_read(&b[OFF(o)], BOUND(len, 127), &a->name[0].sun_path);
	if (b[OFF(o)] == 0)
		b[OFF(o)] = '@';
	else if (b[OFF(o + len - 1)] == 0)
		len--;
	return len;
}

/* sun_path of a user sockaddr_un of length ulen at b[o]. */
static __always_inline __u32 put_user_unix_path(__u8 *b, __u32 o, const __u8 *ua, __u32 ulen)
{
	if (ulen <= 2)
		return 0;
	__u32 len = ulen - 2;
	if (len > 108)
		len = 108;
	char first = 0;
	bpf_probe_read_user(&first, 1, ua + 2);
	if (first == 0) {
		/* abstract: raw bytes, leading NUL shown as '@' as Falco does */
		bpf_probe_read_user(&b[OFF(o)], BOUND(len, 127), ua + 2);
		b[OFF(o)] = '@';
		return len;
	}
	long n = bpf_probe_read_user_str(&b[OFF(o)], BOUND(len, 127), ua + 2);
	return n > 1 ? n - 1 : 0;
}

/*
 * A user sockaddr as the SOCKADDR encoding: u8 family, then the address and
 * the port in host order, or the unix path.
 */
static __always_inline void p_sockaddr(struct rec *r, const __u8 *ua, __u32 ulen)
{
	__u16 fam = 0;
	__u8 *b = r->b;
	__u32 o = r->off;
	if (!ua || ulen < 2 || bpf_probe_read_user(&fam, 2, ua)) {
		p_absent(r);
		return;
	}
	if (fam == AF_INET && ulen >= 8) {
		__be16 port = 0;
		bpf_probe_read_user(&port, 2, ua + 2);
		b[OFF(o)] = TC_AF_INET;
		bpf_probe_read_user(&b[OFF(o + 1)], 4, ua + 4);
		*(__u16 *)&b[OFF(o + 5)] = bpf_ntohs(port);
		r->off += 7;
		set_len(r, 7);
	} else if (fam == AF_INET6 && ulen >= 24) {
		__be16 port = 0;
		bpf_probe_read_user(&port, 2, ua + 2);
		b[OFF(o)] = TC_AF_INET6;
		bpf_probe_read_user(&b[OFF(o + 1)], 16, ua + 8);
		*(__u16 *)&b[OFF(o + 17)] = bpf_ntohs(port);
		r->off += 19;
		set_len(r, 19);
	} else if (fam == AF_UNIX) {
		b[OFF(o)] = TC_AF_UNIX;
		__u32 n = put_user_unix_path(b, o + 1, ua, ulen);
		r->off += 1 + n;
		set_len(r, 1 + n);
	} else {
		b[OFF(o)] = (__u8)fam;
		r->off += 1;
		set_len(r, 1);
	}
}

/*
 * The SOCKTUPLE of a socket, read from its struct sock. Outbound (connect,
 * sendto, sendmsg): source = local end. Inbound (accept, recvfrom, recvmsg):
 * source = remote end. So for TCP the source is the client either way. When
 * the socket has no remote address (unconnected UDP, failed connect) the
 * user's sockaddr (ua, ulen) gives it.
 */
static __always_inline void p_tuple(struct rec *r, struct sock *sk, bool inbound, const __u8 *ua, __u32 ulen)
{
	__u8 *b = r->b;
	__u32 o = r->off;
	if (!sk) {
		p_absent(r);
		return;
	}
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam == AF_INET) {
		__u32 lip = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		__u32 rip = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (rport == 0 && ua && ulen >= 8) {
			__u16 fam2 = 0;
			bpf_probe_read_user(&fam2, 2, ua);
			if (fam2 == AF_INET) {
				__be16 port = 0;
				bpf_probe_read_user(&port, 2, ua + 2);
				bpf_probe_read_user(&rip, 4, ua + 4);
				rport = bpf_ntohs(port);
			}
		}
		b[OFF(o)] = TC_AF_INET;
		*(__u32 *)&b[OFF(o + 1)] = inbound ? rip : lip;
		*(__u16 *)&b[OFF(o + 5)] = inbound ? rport : lport;
		*(__u32 *)&b[OFF(o + 7)] = inbound ? lip : rip;
		*(__u16 *)&b[OFF(o + 11)] = inbound ? lport : rport;
		r->off += 13;
		set_len(r, 13);
	} else if (fam == AF_INET6) {
		__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		/* soff: where the local end goes (source when outbound), doff: the remote end. */
		__u32 soff = inbound ? 19 : 1, doff = inbound ? 1 : 19;
		b[OFF(o)] = TC_AF_INET6;
		bpf_core_read(&b[OFF(o + soff)], 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(&b[OFF(o + doff)], 16, &sk->__sk_common.skc_v6_daddr);
		if (rport == 0 && ua && ulen >= 24) {
			__u16 fam2 = 0;
			bpf_probe_read_user(&fam2, 2, ua);
			if (fam2 == AF_INET6) {
				__be16 port = 0;
				bpf_probe_read_user(&port, 2, ua + 2);
				bpf_probe_read_user(&b[OFF(o + doff)], 16, ua + 8);
				rport = bpf_ntohs(port);
			}
		}
		*(__u16 *)&b[OFF(o + soff + 16)] = lport;
		*(__u16 *)&b[OFF(o + doff + 16)] = rport;
		r->off += 37;
		set_len(r, 37);
	} else if (fam == AF_UNIX) {
		struct unix_sock *us = (struct unix_sock *)sk;
		struct sock *peer = BPF_CORE_READ(us, peer);
		b[OFF(o)] = TC_AF_UNIX;
		*(__u64 *)&b[OFF(o + 1)] = inbound ? (__u64)peer : (__u64)sk;
		*(__u64 *)&b[OFF(o + 9)] = inbound ? (__u64)sk : (__u64)peer;
		/* The path is the server's: ours when we accepted, the peer's when we connected. */
		__u32 n = 0;
		if (inbound)
			n = put_unix_path(b, o + 17, BPF_CORE_READ(us, addr));
		else if (peer)
			n = put_unix_path(b, o + 17, BPF_CORE_READ((struct unix_sock *)peer, addr));
		if (n == 0 && !inbound && ua)
			n = put_user_unix_path(b, o + 17, ua, ulen);
		r->off += 17 + n;
		set_len(r, 17 + n);
	} else {
		b[OFF(o)] = (__u8)fam;
		r->off += 1;
		set_len(r, 1);
	}
}

/* Number of a struct pid in the namespace at `level` (0 when it has none there). */
static __always_inline __u32 pid_nr_at(struct pid *p, __u32 level)
{
	struct upid u = {};
	if (!p || BPF_CORE_READ(p, level) < level)
		return 0;
	bpf_core_read(&u, sizeof(u), &p->numbers[level & 31]);
	return (__u32)u.nr;
}

static __always_inline __u32 task_level(struct task_struct *t)
{
	return BPF_CORE_READ(t, thread_pid, level);
}

static __always_inline struct pid *task_signal_pid(struct task_struct *t, int type)
{
	struct pid *p = NULL;
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	if (sig)
		bpf_core_read(&p, sizeof(p), &sig->pids[type & 3]);
	return p;
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(((struct kernfs_node___new *)0)->__parent))
		return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* Writes the cgroup path of kn (root first) at r->off. */
static __always_inline void put_kn_path(struct rec *r, struct kernfs_node *kn)
{
	__u64 *stack = TMP;
	__u32 n = 0;
	for (int i = 0; i < TC_MAX_CGROUP_DEPTH; i++) {
		struct kernfs_node *parent = kn_parent(kn);
		if (!parent)
			break;
		stack[i & (TC_MAX_CGROUP_DEPTH - 1)] = (__u64)kn;
		n = i + 1;
		kn = parent;
	}
	n = forget(r, n) & 31;
	if (n == 0) {
		r->b[OFF(r->off)] = '/';
		r->off++;
		return;
	}
	for (int i = 0; i < TC_MAX_CGROUP_DEPTH; i++) {
		if (i >= n)
			break;
		struct kernfs_node *k = (struct kernfs_node *)stack[(n - 1 - i) & (TC_MAX_CGROUP_DEPTH - 1)];
		r->b[OFF(r->off)] = '/';
		r->off++;
		long l = bpf_probe_read_kernel_str(&r->b[OFF(r->off)], 256, BPF_CORE_READ(k, name));
		if (l > 1)
			r->off += l - 1;
		off_forget(r);
	}
}

static __always_inline void put_kstr_raw(struct rec *r, const char *s, __u32 max)
{
	long l = bpf_probe_read_kernel_str(&r->b[OFF(r->off)], max & 255, s);
	if (l > 1)
		r->off += l - 1;
}

/*
 * The cgroups STRV: `unified=/path` for the cgroup v2 hierarchy, then
 * `ctl1,ctl2=/path` (or `name=NAME=/path`) for each v1 hierarchy where the
 * task is not in the root cgroup. Paths are absolute within each hierarchy
 * (not relative to a cgroup namespace). Built by walking css_set->cgrp_links,
 * one link per mounted hierarchy, in a bpf_loop() callback so that the
 * verifier checks one link's code once instead of once per iteration.
 */
struct cg_walk {
	struct rec *r;
	struct css_set *cs;
	struct list_head *head;
	struct list_head *pos;
	__u64 link_off;
	__u32 start;
	__u32 nsubsys;
};

static long cg_link(__u32 i, void *data)
{
	struct cg_walk *w = data;
	struct rec *r = w->r;
	struct list_head *pos = w->pos;
	off_forget(r);
	if (!pos || pos == w->head || r->off - w->start > TC_MAX_CGROUPS)
		return 1;
	struct cgrp_cset_link *link = (struct cgrp_cset_link *)((__u8 *)pos - w->link_off);
	struct cgroup *cg = BPF_CORE_READ(link, cgrp);
	w->pos = BPF_CORE_READ(pos, next);
	struct cgroup_root *root = BPF_CORE_READ(cg, root);
	struct kernfs_node *kn = BPF_CORE_READ(cg, kn);
	if (!root || !kn)
		return 0;
	if (BPF_CORE_READ(root, hierarchy_id) == 0) {
		__builtin_memcpy(&r->b[OFF(r->off)], "unified=", 8);
		r->off += 8;
	} else {
		if (!kn_parent(kn))
			return 0; /* v1 root cgroup: nothing to learn */
		/* "ctl," for each controller, "name=NAME," for a named hierarchy; the last ',' becomes '='. */
		__u32 mask = BPF_CORE_READ(root, subsys_mask);
		struct css_set *cs = w->cs;
		for (__u32 j = 0; j < 16; j++) {
			if (j >= w->nsubsys)
				break;
			if (!(mask & (1U << j)))
				continue;
			struct cgroup_subsys_state *css = NULL;
			bpf_core_read(&css, sizeof(css), &cs->subsys[j]);
			put_kstr_raw(r, BPF_CORE_READ(css, ss, legacy_name), 32);
			r->b[OFF(r->off)] = ',';
			r->off++;
			off_forget(r);
		}
		char c0 = 0;
		bpf_core_read(&c0, 1, &root->name[0]);
		if (c0) {
			__builtin_memcpy(&r->b[OFF(r->off)], "name=", 5);
			r->off += 5;
			put_kstr_raw(r, __builtin_preserve_access_index(&root->name[0]), 64);
			r->b[OFF(r->off)] = ',';
			r->off++;
		}
		r->b[OFF(r->off - 1)] = '=';
	}
	put_kn_path(r, kn);
	r->b[OFF(r->off)] = 0;
	r->off++;
	return 0;
}

static __always_inline void p_cgroups(struct rec *r, struct task_struct *t)
{
	off_forget(r); /* one verifier state in, however the record got here */
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	if (!cs) {
		p_absent(r);
		return;
	}
	struct cg_walk w = {
		.r = r,
		.cs = cs,
		.head = __builtin_preserve_access_index(&cs->cgrp_links),
		.pos = BPF_CORE_READ(cs, cgrp_links.next),
		.link_off = bpf_core_field_offset(struct cgrp_cset_link, cgrp_link),
		.start = r->off,
		.nsubsys = bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT),
	};
	bpf_loop(TC_MAX_CGROUP_LINKS, cg_link, &w, 0);
	off_forget(r);
	__u32 len = r->off - w.start;
	set_len(r, len);
}

/* ---- sys_exit ------------------------------------------------------------ */

static __always_inline enum tc_drop_category category_of(long id)
{
	switch (id) {
	case TC_NR_clone: case TC_NR_clone3: case TC_NR_fork: case TC_NR_vfork:
		return TC_CAT_CLONE_FORK_EXIT;
	case TC_NR_execve: case TC_NR_execveat:
		return TC_CAT_EXECVE;
	case TC_NR_connect:
		return TC_CAT_CONNECT;
	case TC_NR_open: case TC_NR_openat: case TC_NR_openat2: case TC_NR_creat:
		return TC_CAT_OPEN;
	case TC_NR_close:
		return TC_CAT_CLOSE;
	case TC_NR_mkdir: case TC_NR_mkdirat: case TC_NR_rmdir: case TC_NR_unlink: case TC_NR_unlinkat:
	case TC_NR_rename: case TC_NR_renameat: case TC_NR_renameat2: case TC_NR_link: case TC_NR_linkat:
	case TC_NR_symlink: case TC_NR_symlinkat: case TC_NR_chmod: case TC_NR_fchmod: case TC_NR_fchmodat:
	case TC_NR_chown: case TC_NR_lchown: case TC_NR_fchown: case TC_NR_fchownat: case TC_NR_chdir:
	case TC_NR_fchdir: case TC_NR_chroot: case TC_NR_pivot_root:
		return TC_CAT_DIR_FILE;
	default:
		return TC_CAT_OTHER;
	}
}

/* Number of parameters of EXEC_PARAMS in schema.ts; filename is the 24th. */
#define EXEC_NPARAMS 31
#define EXEC_FILENAME_IDX 23

static __always_inline void p_absent_n(struct rec *r, int n)
{
	for (int i = 0; i < 40; i++) {
		if (i >= n)
			break;
		p_absent(r);
	}
}

/* Two fds from a user int[2] (pipe, socketpair). */
static __always_inline void p_fd_pair(struct rec *r, const void *ufds, long res, int *fds)
{
	fds[0] = -1;
	fds[1] = -1;
	if (res == 0 && ufds && bpf_probe_read_user(fds, 8, ufds) == 0) {
		p_u64(r, (__s64)fds[0]);
		p_u64(r, (__s64)fds[1]);
	} else {
		fds[0] = -1;
		p_absent(r);
		p_absent(r);
	}
}

/*
 * The record of syscall `id` that returned `ret`, its arguments in `regs`:
 * the body of sys_exit and of every per-syscall fexit program. Inlined, so
 * a program that passes a constant id keeps only that syscall's case.
 */
static __always_inline int on_syscall_exit(const struct pt_regs *regs, long ret, long id)
{
	if (id < 0 || id >= TC_NR_SYSCALLS || !is_interesting(id))
		return 0;
	enum tc_drop_category cat = category_of(id);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)(pid_tgid >> 32) == sensor_tgid)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	/* ia32 syscalls have other numbers; they are not recorded. */
	if (task->thread_info.status & TS_COMPAT)
		return 0;
	switch (id) {
	case TC_NR_clone: case TC_NR_clone3: case TC_NR_fork: case TC_NR_vfork:
		/* Successes are recorded by sched_process_fork, for the parent. */
		if (ret >= 0)
			return 0;
		break;
	case TC_NR_execve: case TC_NR_execveat:
		/* Successes are recorded by sched_process_exec. */
		if (ret == 0)
			return 0;
		break;
	}

	unsigned long a0 = regs->di, a1 = regs->si, a2 = regs->dx, a3 = regs->r10, a4 = regs->r8, a5 = regs->r9;
	struct rec rr, *r = &rr;
	int fds[2];

	switch (id) {
	case TC_NR_open: {
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 5, pid_tgid, cat))
			return 0;
		struct file *f = fd_file(task, ret);
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_u32(r, open_flags(a1, f));
		p_u32(r, a2);
		p_dev_ino(r, f);
		break;
	}
	case TC_NR_openat: {
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 6, pid_tgid, cat))
			return 0;
		struct file *f = fd_file(task, ret);
		p_u64(r, (__s64)(int)a0);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		p_u32(r, open_flags(a2, f));
		p_u32(r, a3);
		p_dev_ino(r, f);
		break;
	}
	case TC_NR_openat2: {
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 7, pid_tgid, cat))
			return 0;
		struct open_how how = {};
		struct file *f = fd_file(task, ret);
		bool ok = a2 && bpf_probe_read_user(&how, sizeof(how), (void *)a2) == 0;
		p_u64(r, (__s64)(int)a0);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		if (ok) {
			p_u32(r, open_flags(how.flags, f));
			p_u32(r, how.mode);
			p_u32(r, how.resolve);
		} else {
			p_absent_n(r, 3);
		}
		p_dev_ino(r, f);
		break;
	}
	case TC_NR_creat: {
		/* creat(path, mode) is open(path, O_WRONLY|O_CREAT|O_TRUNC, mode). */
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 5, pid_tgid, cat))
			return 0;
		struct file *f = fd_file(task, ret);
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_u32(r, open_flags(01101, f));
		p_u32(r, a1);
		p_dev_ino(r, f);
		break;
	}
	case TC_NR_read: case TC_NR_write:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u32(r, a2);
		p_absent(r);
		break;
	case TC_NR_close: case TC_NR_fchdir: case TC_NR_dup:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 1, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		break;
	case TC_NR_dup2: case TC_NR_dup3:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, id == TC_NR_dup3 ? 3 : 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u64(r, (__s64)(int)a1);
		if (id == TC_NR_dup3)
			p_u32(r, a2);
		break;
	case TC_NR_fcntl:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u32(r, a1);
		break;
	case TC_NR_pipe: case TC_NR_pipe2: {
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, id == TC_NR_pipe2 ? 4 : 3, pid_tgid, cat))
			return 0;
		p_fd_pair(r, (void *)a0, ret, fds);
		struct file *f = fd_file(task, fds[0]);
		if (f)
			p_u64(r, BPF_CORE_READ(f, f_inode, i_ino));
		else
			p_absent(r);
		if (id == TC_NR_pipe2)
			p_u32(r, a1);
		break;
	}
	/* One path argument. */
	case TC_NR_chdir: case TC_NR_unlink: case TC_NR_rmdir: case TC_NR_chroot:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 1, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		break;
	/* Two path arguments. */
	case TC_NR_rename: case TC_NR_link: case TC_NR_symlink: case TC_NR_pivot_root:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		break;
	case TC_NR_unlinkat:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		p_u32(r, a2);
		break;
	case TC_NR_renameat: case TC_NR_renameat2: case TC_NR_linkat:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, id == TC_NR_renameat ? 4 : 5, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		p_u64(r, (__s64)(int)a2);
		p_ustr(r, (void *)a3, TC_MAX_PATH);
		if (id != TC_NR_renameat)
			p_u32(r, a4);
		break;
	case TC_NR_mkdir: case TC_NR_chmod:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_u32(r, a1);
		break;
	case TC_NR_mkdirat: case TC_NR_fchmodat:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		p_u32(r, a2);
		break;
	case TC_NR_symlinkat:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_u64(r, (__s64)(int)a1);
		p_ustr(r, (void *)a2, TC_MAX_PATH);
		break;
	case TC_NR_fchmod:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u32(r, a1);
		break;
	case TC_NR_chown: case TC_NR_lchown:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_u32(r, a1);
		p_u32(r, a2);
		break;
	case TC_NR_fchown:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u32(r, a1);
		p_u32(r, a2);
		break;
	case TC_NR_fchownat:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 5, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		p_u32(r, a2);
		p_u32(r, a3);
		p_u32(r, a4);
		break;
	case TC_NR_socket:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u32(r, a0);
		p_u32(r, a1);
		p_u32(r, a2);
		break;
	case TC_NR_socketpair:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 5, pid_tgid, cat))
			return 0;
		p_u32(r, a0);
		p_u32(r, a1);
		p_u32(r, a2);
		p_fd_pair(r, (void *)a3, ret, fds);
		break;
	case TC_NR_connect: {
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_tuple(r, file_sock(fd_file(task, (int)a0)), false, (void *)a1, a2);
		p_sockaddr(r, (void *)a1, a2);
		break;
	}
	case TC_NR_accept: case TC_NR_accept4:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, id == TC_NR_accept4 ? 4 : 3, pid_tgid, cat))
			return 0;
		p_u64(r, ret);
		if (ret >= 0)
			p_tuple(r, file_sock(fd_file(task, ret)), true, NULL, 0);
		else
			p_absent(r);
		p_u64(r, (__s64)(int)a0);
		if (id == TC_NR_accept4)
			p_u32(r, a3);
		break;
	case TC_NR_bind:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_sockaddr(r, (void *)a1, a2);
		break;
	case TC_NR_listen:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u32(r, a1);
		break;
	case TC_NR_sendto: case TC_NR_recvfrom: {
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 4, pid_tgid, cat))
			return 0;
		bool in = id == TC_NR_recvfrom;
		__u32 ulen = a5;
		if (in) {
			int l = 0;
			if (a5)
				bpf_probe_read_user(&l, sizeof(l), (void *)a5);
			ulen = l;
		}
		p_u64(r, (__s64)(int)a0);
		p_u32(r, a2);
		p_tuple(r, file_sock(fd_file(task, (int)a0)), in, (void *)a4, ulen);
		p_absent(r); /* data: not captured */
		break;
	}
	case TC_NR_sendmsg: case TC_NR_recvmsg: {
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 4, pid_tgid, cat))
			return 0;
		struct user_msghdr mh = {};
		if (a1)
			bpf_probe_read_user(&mh, sizeof(mh), (void *)a1);
		p_u64(r, (__s64)(int)a0);
		if (ret >= 0)
			p_u32(r, ret);
		else
			p_absent(r);
		p_tuple(r, file_sock(fd_file(task, (int)a0)), id == TC_NR_recvmsg, mh.msg_name, mh.msg_namelen);
		p_absent(r);
		break;
	}
	case TC_NR_setuid: case TC_NR_setgid: case TC_NR_unshare: case TC_NR_bpf: case TC_NR_userfaultfd:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 1, pid_tgid, cat))
			return 0;
		if (id == TC_NR_unshare)
			p_u64(r, a0);
		else
			p_u32(r, a0);
		break;
	case TC_NR_setreuid: case TC_NR_setregid:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u32(r, a0);
		p_u32(r, a1);
		break;
	case TC_NR_setresuid: case TC_NR_setresgid:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u32(r, a0);
		p_u32(r, a1);
		p_u32(r, a2);
		break;
	case TC_NR_ptrace:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 4, pid_tgid, cat))
			return 0;
		p_u32(r, a0);
		p_u32(r, a1);
		p_u64(r, a2);
		p_u64(r, a3);
		break;
	case TC_NR_mount:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 4, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		p_ustr(r, (void *)a2, 256);
		p_u64(r, a3);
		break;
	case TC_NR_umount2:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_u32(r, a1);
		break;
	case TC_NR_init_module:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u64(r, a1);
		p_ustr(r, (void *)a2, 1024);
		break;
	case TC_NR_finit_module:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_ustr(r, (void *)a1, 1024);
		p_u32(r, a2);
		break;
	case TC_NR_memfd_create:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_ustr(r, (void *)a0, 256);
		p_u32(r, a1);
		break;
	case TC_NR_setns:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u64(r, a1);
		break;
	case TC_NR_prctl:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u32(r, a0);
		if (a0 == PR_SET_NAME || a0 == PR_GET_NAME) {
			p_ustr(r, (void *)a1, 16);
			p_absent(r);
		} else {
			p_absent(r);
			p_u64(r, a1);
		}
		break;
	case TC_NR_kill:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u32(r, a1);
		break;
	case TC_NR_tgkill:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 3, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_u64(r, (__s64)(int)a1);
		p_u32(r, a2);
		break;
	case TC_NR_execve:
		/* A failed exec: only the path the caller gave. */
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, EXEC_NPARAMS, pid_tgid, cat))
			return 0;
		p_absent_n(r, EXEC_FILENAME_IDX);
		p_ustr(r, (void *)a0, TC_MAX_PATH);
		p_absent_n(r, EXEC_NPARAMS - EXEC_FILENAME_IDX - 1);
		break;
	case TC_NR_execveat:
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, EXEC_NPARAMS + 2, pid_tgid, cat))
			return 0;
		p_u64(r, (__s64)(int)a0);
		p_absent_n(r, EXEC_FILENAME_IDX);
		p_ustr(r, (void *)a1, TC_MAX_PATH);
		p_absent_n(r, EXEC_NPARAMS - EXEC_FILENAME_IDX - 1);
		p_u32(r, a4);
		break;
	case TC_NR_clone:
		/* A failed clone: the flags asked for. */
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 4, pid_tgid, cat))
			return 0;
		p_u64(r, a0);
		p_absent_n(r, 3);
		break;
	default:
		/* Interesting, but no parameters known: the result only. */
		if (!rec_begin(r, TC_SLOT_SYSCALL, id, ret, 0, pid_tgid, cat))
			return 0;
		break;
	}
	rec_submit(r, cat);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	if (syscall_hook != TC_HOOK_SYS_EXIT)
		return 0;
	return on_syscall_exit(regs, ret, regs->orig_ax);
}

/* ---- per-syscall fexit programs ---------------------------------------------- */

/*
 * Enabling the sys_exit tracepoint sends every syscall of every task through
 * the kernel's slow syscall exit path, whether a rule selects it or not. A
 * fexit program on one syscall's function costs only that syscall. The
 * addon picks the function each program attaches to
 * (bpf_program__set_attach_target), loads those the kernel has, and
 * attaches those of the interesting syscalls; hence the bare SEC("fexit").
 */
#if defined(__TARGET_ARCH_x86)

static __always_inline int fexit_syscall(const struct pt_regs *regs, long ret, long id)
{
	if (syscall_hook != TC_HOOK_FEXIT)
		return 0;
	/*
	 * x32 calls run the same __x64_sys_ functions with bit 30 set in
	 * orig_ax; sys_exit never records them (their id is out of range), so
	 * neither does this. ia32 calls run __ia32_sys_ functions: never here.
	 */
	if (regs->orig_ax != id)
		return 0;
	return on_syscall_exit(regs, ret, id);
}

/* long __x64_sys_<name>(const struct pt_regs *regs): the arguments are in regs. */
#define TC_FEXIT_PROG(name, nr)                                              \
	SEC("fexit")                                                         \
	int BPF_PROG(fx_##name, const struct pt_regs *regs, long ret)        \
	{                                                                    \
		return fexit_syscall(regs, ret, TC_NR_##name);               \
	}
TC_SYSCALLS(TC_FEXIT_PROG)

/*
 * long __do_sys_<name>(void), for syscalls without arguments whose
 * __x64_sys_ wrapper the kernel's BTF may lack (sensor.h): the registers are
 * the task's saved ones.
 */
#define TC_FEXIT_PROG_NOARGS(name)                                           \
	SEC("fexit")                                                         \
	int BPF_PROG(fx0_##name, long ret)                                   \
	{                                                                    \
		struct task_struct *t = bpf_get_current_task_btf();          \
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t); \
		return fexit_syscall(regs, ret, TC_NR_##name);               \
	}
TC_SYSCALLS_NOARGS(TC_FEXIT_PROG_NOARGS)

#endif /* __TARGET_ARCH_x86 */

/* ---- sched_process_exec --------------------------------------------------- */

/* Bit 31 of i_ctime_nsec is I_CTIME_QUERIED (multigrain timestamps, 6.13+), not time. */
static __always_inline __u64 timespec_ns(__s64 sec, __s64 nsec)
{
	return (__u64)sec * 1000000000ULL + ((__u64)nsec & 0x7fffffff);
}

static __always_inline void p_inode_times(struct rec *r, struct inode *ino)
{
	__u64 ctime = 0, mtime = 0;
	if (bpf_core_field_exists(((struct inode___v6_11 *)0)->i_ctime_sec)) {
		struct inode___v6_11 *i = (void *)ino;
		ctime = timespec_ns(BPF_CORE_READ(i, i_ctime_sec), BPF_CORE_READ(i, i_ctime_nsec));
		mtime = timespec_ns(BPF_CORE_READ(i, i_mtime_sec), BPF_CORE_READ(i, i_mtime_nsec));
	} else if (bpf_core_field_exists(((struct inode___v6_7 *)0)->__i_mtime)) {
		struct inode___v6_7 *i = (void *)ino;
		ctime = timespec_ns(BPF_CORE_READ(i, __i_ctime.tv_sec), BPF_CORE_READ(i, __i_ctime.tv_nsec));
		mtime = timespec_ns(BPF_CORE_READ(i, __i_mtime.tv_sec), BPF_CORE_READ(i, __i_mtime.tv_nsec));
	} else if (bpf_core_field_exists(((struct inode___v6_6 *)0)->__i_ctime)) {
		struct inode___v6_6 *i = (void *)ino;
		ctime = timespec_ns(BPF_CORE_READ(i, __i_ctime.tv_sec), BPF_CORE_READ(i, __i_ctime.tv_nsec));
		mtime = timespec_ns(BPF_CORE_READ(i, i_mtime.tv_sec), BPF_CORE_READ(i, i_mtime.tv_nsec));
	} else {
		struct inode___old *i = (void *)ino;
		ctime = timespec_ns(BPF_CORE_READ(i, i_ctime.tv_sec), BPF_CORE_READ(i, i_ctime.tv_nsec));
		mtime = timespec_ns(BPF_CORE_READ(i, i_mtime.tv_sec), BPF_CORE_READ(i, i_mtime.tv_nsec));
	}
	p_u64(r, ctime);
	p_u64(r, mtime);
}

static __always_inline __u64 read_cap(const struct cred *c, const kernel_cap_t *field)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), field);
	return v;
}

/* Falco's exe_writable: could the task (its fs ids and capabilities) write the file? */
static __always_inline bool exe_writable(struct inode *ino, const struct cred *cred, __u64 cap_eff)
{
	if ((BPF_CORE_READ(ino, i_flags) & S_IMMUTABLE) || (BPF_CORE_READ(ino, i_sb, s_flags) & SB_RDONLY))
		return false;
	umode_t mode = BPF_CORE_READ(ino, i_mode);
	__u32 fsuid = BPF_CORE_READ(cred, fsuid.val), fsgid = BPF_CORE_READ(cred, fsgid.val);
	bool dac;
	if (fsuid == BPF_CORE_READ(ino, i_uid.val))
		dac = mode & S_IWUSR;
	else if (fsgid == BPF_CORE_READ(ino, i_gid.val))
		dac = mode & S_IWGRP;
	else
		dac = mode & S_IWOTH;
	return dac || (cap_eff & (1ULL << CAP_DAC_OVERRIDE));
}

static __always_inline __u32 exe_flags(struct file *exe, const struct cred *cred, __u64 cap_eff)
{
	__u32 flags = 0;
	if (!exe)
		return 0;
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	char name[6] = {};
	bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' && name[5] == ':')
		flags |= EXE_FROM_MEMFD;
	if (exe_writable(ino, cred, cap_eff))
		flags |= EXE_WRITABLE;
	if (BPF_CORE_READ(ino, i_sb, s_magic) == OVERLAYFS_SUPER_MAGIC) {
		/* struct ovl_inode { ...; struct inode vfs_inode; struct dentry *__upperdentry; ... } */
		void *upper = NULL;
		__u64 isz = bpf_core_type_size(struct inode);
		bpf_probe_read_kernel(&upper, sizeof(upper), (__u8 *)ino + isz);
		flags |= upper ? EXE_UPPER_LAYER : EXE_LOWER_LAYER;
	}
	return flags;
}

/*
 * d_path of a file, walked dentry by dentry (bpf_d_path is not allowed in
 * tracepoints): absolute in the task's mount namespace. Absent when deeper
 * than TC_MAX_PATH_DEPTH.
 */
static __always_inline bool p_file_path(struct rec *r, struct file *f)
{
	__u64 *stack = TMP;
	off_forget(r);
	if (!f)
		return false;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	struct mount *m = (struct mount *)((__u8 *)vm - bpf_core_field_offset(struct mount, mnt));
	__u32 n = 0;
	bool done = false;
	for (int i = 0; i < TC_MAX_PATH_DEPTH + 8; i++) {
		struct dentry *mroot = BPF_CORE_READ(m, mnt.mnt_root);
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (d == mroot) {
			struct mount *mp = BPF_CORE_READ(m, mnt_parent);
			if (!mp || mp == m) {
				done = true; /* the root of the mount namespace */
				break;
			}
			d = BPF_CORE_READ(m, mnt_mountpoint);
			m = mp;
			continue;
		}
		if (n >= TC_MAX_PATH_DEPTH)
			break;
		stack[n & 63] = (__u64)d;
		n = forget(r, n + 1) & 63;
		if (d == parent) {
			/* A pseudo or disconnected dentry (memfd, anonymous files): its name is the path. */
			done = true;
			break;
		}
		d = parent;
	}
	if (!done)
		return false;
	__u32 start = r->off;
	if (n == 0) {
		r->b[OFF(r->off)] = '/';
		r->off++;
	}
	for (int i = 0; i < TC_MAX_PATH_DEPTH; i++) {
		if (i >= n || r->off - start > TC_MAX_PATH - 256)
			break;
		struct dentry *dd = (struct dentry *)stack[(n - 1 - i) & 63];
		__u32 len = BPF_CORE_READ(dd, d_name.len);
		r->b[OFF(r->off)] = '/';
		r->off++;
		len = BOUND(len, 255);
		bpf_probe_read_kernel(&r->b[OFF(r->off)], len, BPF_CORE_READ(dd, d_name.name));
		r->off += len;
		off_forget(r);
	}
	set_len(r, r->off - start);
	return true;
}

/* exe then args, from the new program's argv block. */
static __always_inline void p_exe_args(struct rec *r, struct mm_struct *mm)
{
	unsigned long as = BPF_CORE_READ(mm, arg_start), ae = BPF_CORE_READ(mm, arg_end);
	if (!mm || ae <= as) {
		p_absent(r);
		p_absent(r);
		return;
	}
	long n = bpf_probe_read_user_str(&r->b[OFF(r->off)], TC_MAX_PATH, (void *)as);
	if (n < 1) {
		p_absent(r);
		p_absent(r);
		return;
	}
	r->off += n - 1;
	set_len(r, n - 1);
	unsigned long rest = ae - as - n;
	if ((long)rest <= 0) {
		p_absent(r);
		return;
	}
	if (rest > TC_MAX_ARGS)
		rest = TC_MAX_ARGS;
	rest = BOUND(rest, 0x1fff);
	if (bpf_probe_read_user(&r->b[OFF(r->off)], rest, (void *)(as + n))) {
		p_absent(r);
		return;
	}
	r->off += rest;
	set_len(r, rest);
}

static __always_inline void p_env(struct rec *r, struct mm_struct *mm)
{
	unsigned long es = BPF_CORE_READ(mm, env_start), ee = BPF_CORE_READ(mm, env_end);
	unsigned long len = ee - es;
	if (ee <= es) {
		p_absent(r);
		return;
	}
	if (len > TC_MAX_ENV)
		len = TC_MAX_ENV;
	len = BOUND(len, 0x7fff);
	if (bpf_probe_read_user(&r->b[OFF(r->off)], len, (void *)es)) {
		p_absent(r);
		return;
	}
	r->off += len;
	set_len(r, len);
}

static __always_inline __u32 task_tty(struct task_struct *t)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(tty, driver, major);
	int minor_start = BPF_CORE_READ(tty, driver, minor_start);
	return encode_dev(((__u32)major << 20) | (__u32)(minor_start + index));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)(pid_tgid >> 32) == sensor_tgid)
		return 0;
	/*
	 * execve or execveat? Not from regs->orig_ax: loading a 64-bit ELF
	 * rewrites it to __NR_execve (set_personality_64bit, "pretend that this
	 * comes from a 64bit execve"). The kernel sets bprm->fdpath ("/dev/fd/N"
	 * or "/dev/fd/N/name") for an execveat relative to a file descriptor,
	 * which covers fexecve and memfd execution; an execveat with AT_FDCWD or
	 * an absolute path is indistinguishable from execve here and is reported
	 * as execve. orig_ax still tells for binaries that keep it (scripts, other
	 * formats).
	 */
	const char *fdpath = NULL;
	if (bpf_core_field_exists(bprm->fdpath))
		fdpath = BPF_CORE_READ(bprm, fdpath);
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(p);
	long id = regs ? BPF_CORE_READ(regs, orig_ax) : TC_NR_execve;
	__u16 type = (fdpath || id == TC_NR_execveat) ? TC_NR_execveat : TC_NR_execve;
	if (!is_interesting(type))
		return 0;
	struct rec rr, *r = &rr;
	if (!rec_begin(r, TC_SLOT_SCHED, type, 0, type == TC_NR_execveat ? EXEC_NPARAMS + 2 : EXEC_NPARAMS, pid_tgid, TC_CAT_EXECVE))
		return 0;
	struct mm_struct *mm = BPF_CORE_READ(p, mm);
	const struct cred *cred = BPF_CORE_READ(p, cred);
	struct file *exe = BPF_CORE_READ(mm, exe_file);
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	__u32 level = task_level(p);
	struct pid *tpid = BPF_CORE_READ(p, thread_pid);
	struct pid *gpid = BPF_CORE_READ(p, group_leader, thread_pid);
	struct pid *pgrp = task_signal_pid(p, bpf_core_enum_value(enum pid_type, PIDTYPE_PGID));
	struct pid *sess = task_signal_pid(p, bpf_core_enum_value(enum pid_type, PIDTYPE_SID));
	__u64 cap_eff = read_cap(cred, __builtin_preserve_access_index(&cred->cap_effective));

	if (type == TC_NR_execveat)
		p_absent(r); /* dirfd: the argument registers are gone by now */
	p_exe_args(r, mm);                                   /* exe, args */
	p_u32(r, BPF_CORE_READ(p, pid));                     /* tid */
	p_u32(r, BPF_CORE_READ(p, tgid));                    /* pid */
	p_u32(r, BPF_CORE_READ(p, real_parent, tgid));       /* ptid */
	p_absent(r);                                         /* cwd: tracked in userspace */
	p_kstr(r, __builtin_preserve_access_index(&p->comm[0]), 16); /* comm */
	p_cgroups(r, p);                                     /* cgroups */
	p_env(r, mm);                                        /* env */
	p_u32(r, task_tty(p));                               /* tty */
	p_u32(r, pid_nr_at(pgrp, level));                    /* vpgid */
	if (bpf_core_field_exists(p->loginuid))
		p_u32(r, BPF_CORE_READ(p, loginuid.val));    /* loginuid */
	else
		p_absent(r);
	p_u32(r, exe_flags(exe, cred, cap_eff));             /* flags */
	p_u64(r, read_cap(cred, __builtin_preserve_access_index(&cred->cap_inheritable)));
	p_u64(r, read_cap(cred, __builtin_preserve_access_index(&cred->cap_permitted)));
	p_u64(r, cap_eff);
	if (ino) {
		p_u64(r, BPF_CORE_READ(ino, i_ino));         /* exe_ino */
		p_inode_times(r, ino);                       /* exe_ino_ctime, exe_ino_mtime */
	} else {
		p_absent_n(r, 3);
	}
	p_u32(r, BPF_CORE_READ(cred, euid.val));             /* uid */
	if (!p_file_path(r, exe))                            /* trusted_exepath */
		p_absent(r);
	p_u32(r, pid_nr_at(pgrp, 0));                        /* pgid */
	p_u32(r, BPF_CORE_READ(cred, egid.val));             /* gid */
	p_kstr(r, BPF_CORE_READ(bprm, filename), TC_MAX_PATH); /* filename */
	p_u32(r, pid_nr_at(gpid, level));                    /* vpid */
	p_u32(r, pid_nr_at(tpid, level));                    /* vtid */
	p_u32(r, pid_nr_at(sess, 0));                        /* sid */
	p_u32(r, BPF_CORE_READ(cred, uid.val));              /* ruid */
	p_u32(r, BPF_CORE_READ(cred, gid.val));              /* rgid */
	struct upid up = {};
	bpf_core_read(&up, sizeof(up), &tpid->numbers[level & 31]);
	p_u64(r, BPF_CORE_READ(up.ns, ns.inum));             /* pidns */
	p_u64(r, BPF_CORE_READ(p, nsproxy, mnt_ns, ns.inum)); /* mntns */
	if (type == TC_NR_execveat)
		p_absent(r); /* at_flags */
	rec_submit(r, TC_CAT_EXECVE);
	return 0;
}

/* ---- sched_process_fork --------------------------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid;
	if (ptgid == sensor_tgid)
		return 0;
	__u16 type = TC_NR_clone;
	__u64 flags = 0;
	if (!(parent->flags & PF_KTHREAD)) {
		/* The parent is inside the syscall that forked: its number and arguments tell the flags. */
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(parent);
		long id = regs ? BPF_CORE_READ(regs, orig_ax) : -1;
		if (id == TC_NR_clone) {
			flags = BPF_CORE_READ(regs, di);
		} else if (id == TC_NR_clone3) {
			bpf_probe_read_user(&flags, sizeof(flags), (void *)BPF_CORE_READ(regs, di));
		} else if (id == TC_NR_fork) {
			flags = SIGCHLD;
		} else if (id == TC_NR_vfork) {
			flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
		}
		if (id == TC_NR_clone3 || id == TC_NR_fork || id == TC_NR_vfork)
			type = id;
	}
	if (!is_interesting(type))
		return 0;
	/* What the kernel actually shares, whatever the caller asked. */
	bool thread = child->tgid == ptgid;
	if (thread)
		flags |= CLONE_THREAD;
	if (child->files == parent->files)
		flags |= CLONE_FILES;
	if (child->fs == parent->fs)
		flags |= CLONE_FS;
	if (child->mm == parent->mm)
		flags |= CLONE_VM;

	struct rec rr, *r = &rr;
	__u64 pid_tgid = ((__u64)ptgid << 32) | (__u32)parent->pid;
	if (!rec_begin(r, TC_SLOT_SCHED, type, child->pid, 4, pid_tgid, TC_CAT_CLONE_FORK_EXIT))
		return 0;
	__u32 level = task_level(child);
	p_u64(r, flags);
	p_u32(r, pid_nr_at(BPF_CORE_READ(child, thread_pid), level));
	p_u32(r, pid_nr_at(BPF_CORE_READ(child, group_leader, thread_pid), level));
	if (thread)
		p_absent(r); /* a thread is in its process's cgroups */
	else
		p_cgroups(r, child);
	rec_submit(r, TC_CAT_CLONE_FORK_EXIT);
	return 0;
}

/* ---- sched_process_exit --------------------------------------------------- */

/*
 * Who adopts the children of an exiting process: the nearest ancestor that
 * is a child subreaper, else the init of its pid namespace (host pid).
 * 0 while other threads of the process live (a sibling thread adopts them).
 */
static __always_inline __u32 find_reaper(struct task_struct *t)
{
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	if (BPF_CORE_READ(sig, live.counter) > 0)
		return 0;
	struct upid up = {};
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	__u32 level = BPF_CORE_READ(tp, level);
	bpf_core_read(&up, sizeof(up), &tp->numbers[level & 31]);
	struct task_struct *init = BPF_CORE_READ(up.ns, child_reaper);
	if (BPF_CORE_READ_BITFIELD_PROBED(sig, has_child_subreaper)) {
		struct task_struct *a = BPF_CORE_READ(t, real_parent);
		for (int i = 0; i < 16; i++) {
			if (!a || a == init)
				break;
			struct signal_struct *as = BPF_CORE_READ(a, signal);
			if (BPF_CORE_READ_BITFIELD_PROBED(as, is_child_subreaper))
				return BPF_CORE_READ(a, tgid);
			struct task_struct *next = BPF_CORE_READ(a, real_parent);
			if (next == a)
				break;
			a = next;
		}
	}
	return init ? BPF_CORE_READ(init, tgid) : 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	__u64 pid_tgid = ((__u64)task->tgid << 32) | (__u32)task->pid;
	if (task->tgid == sensor_tgid || !is_interesting(TC_EVT_PROCEXIT))
		return 0;
	struct rec rr, *r = &rr;
	if (!rec_begin(r, TC_SLOT_SCHED, TC_EVT_PROCEXIT, 0, 5, pid_tgid, TC_CAT_PROCEXIT))
		return 0;
	int code = task->exit_code;
	p_u64(r, (__s64)code);              /* status */
	p_u64(r, (__s64)((code >> 8) & 0xff)); /* ret: the exit status */
	p_u32(r, code & 0x7f);              /* sig: the terminating signal, 0 if none */
	p_u32(r, (code & 0x80) ? 1 : 0);    /* core */
	__u32 reaper = find_reaper(task);
	if (reaper)
		p_u32(r, reaper);
	else
		p_absent(r);
	rec_submit(r, TC_CAT_PROCEXIT);
	return 0;
}
