/*
 * Definitions the BPF programs (sensor.bpf.c) and the Node addon share that
 * are not part of the record wire format (that is wire.h): the drop
 * counters, the size of the interesting-event table, and the x86_64 syscall
 * numbers the programs fill parameters for.
 *
 * Included by BPF code (after vmlinux.h, which defines __u64 and friends)
 * and by userspace C (which gets them from <linux/types.h>).
 */
#ifndef TIERCEL_SENSOR_H
#define TIERCEL_SENSOR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "wire.h"

/*
 * The interesting table has one byte per event type: syscall numbers below
 * TC_EVT_PSEUDO_BASE, then the pseudo events (procexit = 1024). Syscall ids
 * at or above TC_NR_SYSCALLS are never recorded (x32 ids have bit 30 set).
 */
#define TC_NR_SYSCALLS 512
#define TC_INTERESTING_SIZE (TC_EVT_PSEUDO_BASE + 16)

/*
 * Drop categories, after Falco's counter_maps (n_drops_buffer_*): a record
 * that could not be written to its ring buffer counts in exactly one.
 */
enum tc_drop_category {
	TC_CAT_CLONE_FORK_EXIT = 0, /* clone/fork/vfork/clone3, sched_process_fork */
	TC_CAT_EXECVE = 1,          /* execve/execveat, sched_process_exec */
	TC_CAT_CONNECT = 2,         /* connect */
	TC_CAT_OPEN = 3,            /* open/openat/openat2/creat */
	TC_CAT_DIR_FILE = 4,        /* mkdir, rmdir, unlink, rename, link, symlink, chmod, chown, chdir... */
	TC_CAT_OTHER = 5,           /* every other syscall */
	TC_CAT_CLOSE = 6,           /* close */
	TC_CAT_PROCEXIT = 7,        /* sched_process_exit */
	TC_CAT_COUNT = 8
};

/* Names the addon reports the categories under (stats().perCpu[].drops). */
#define TC_CAT_NAMES \
	{ "clone_fork_exit", "execve", "connect", "open", "dir_file", "other", "close", "procexit" }

/* Per-CPU counters (a BPF_MAP_TYPE_PERCPU_ARRAY with one entry). */
struct tc_counters {
	__u64 events;                /* records the programs tried to emit (drops included) */
	__u64 drops[TC_CAT_COUNT];   /* ring buffer full, by category */
	__u64 drops_max_size;        /* record larger than TC_MAX_RECORD_SIZE */
	__u64 drops_no_ring;         /* no ring buffer for this CPU (should not happen) */
};

/*
 * Per-CPU scratch space where variable-size records are built before
 * bpf_ringbuf_output(). Record bytes stay below TC_SCRATCH_REC_LIMIT (the
 * largest single write starts below 64 KiB and is at most 16 KiB); the last
 * TC_SCRATCH_TMP_SIZE bytes hold pointer stacks for path walks.
 * There are TC_SCRATCH_SLOTS entries per CPU so that a program preempted
 * mid-record (tracing programs only disable migration) is not overwritten by
 * a program of another kind on the same CPU.
 */
#define TC_SCRATCH_SIZE (1 << 17)
#define TC_SCRATCH_TMP_SIZE 1024
#define TC_SCRATCH_TMP (TC_SCRATCH_SIZE - TC_SCRATCH_TMP_SIZE)
#define TC_SCRATCH_SLOTS 2
#define TC_SLOT_SYSCALL 0
#define TC_SLOT_SCHED 1

/* Bounds on what one record carries. */
#define TC_MAX_PATH 4096        /* a path argument or walked path */
#define TC_MAX_ARGS 4096        /* argv (exe + args) read from mm->arg_start */
#define TC_MAX_ENV 16384        /* environment read from mm->env_start */
#define TC_MAX_CGROUPS 6144     /* the cgroups strv stops adding entries past this */
#define TC_MAX_CGROUP_DEPTH 16  /* kernfs levels walked per cgroup path */
#define TC_MAX_CGROUP_LINKS 16  /* hierarchies visited per css_set */
#define TC_MAX_PATH_DEPTH 48    /* dentries walked for trusted_exepath */

/*
 * The x86_64 syscalls the programs know the parameters of, with their
 * numbers (the record type). X(name, number). Every other interesting
 * syscall is recorded with its result and no parameters. A test checks these
 * numbers against src/syscall/syscall-table.ts. Each has its own fexit
 * program (fx_<name>, attached to __x64_sys_<name>); a syscall not listed
 * can only be recorded by tp_btf/sys_exit.
 */
#define TC_SYSCALLS(X) \
	X(read, 0) X(write, 1) X(open, 2) X(close, 3) X(pipe, 22) X(dup, 32) X(dup2, 33) \
	X(socket, 41) X(connect, 42) X(accept, 43) X(sendto, 44) X(recvfrom, 45) X(sendmsg, 46) \
	X(recvmsg, 47) X(bind, 49) X(listen, 50) X(socketpair, 53) X(clone, 56) X(fork, 57) \
	X(vfork, 58) X(execve, 59) X(kill, 62) X(fcntl, 72) X(chdir, 80) X(fchdir, 81) \
	X(rename, 82) X(mkdir, 83) X(rmdir, 84) X(creat, 85) X(link, 86) X(unlink, 87) \
	X(symlink, 88) X(chmod, 90) X(fchmod, 91) X(chown, 92) X(fchown, 93) X(lchown, 94) \
	X(ptrace, 101) X(setuid, 105) X(setgid, 106) X(setreuid, 113) X(setregid, 114) \
	X(setresuid, 117) X(setresgid, 119) X(pivot_root, 155) X(prctl, 157) X(chroot, 161) \
	X(mount, 165) X(umount2, 166) X(init_module, 175) X(tgkill, 234) X(openat, 257) \
	X(mkdirat, 258) X(fchownat, 260) X(unlinkat, 263) X(renameat, 264) X(linkat, 265) \
	X(symlinkat, 266) X(fchmodat, 268) X(unshare, 272) X(accept4, 288) X(dup3, 292) \
	X(pipe2, 293) X(setns, 308) X(finit_module, 313) X(renameat2, 316) X(memfd_create, 319) \
	X(bpf, 321) X(execveat, 322) X(userfaultfd, 323) X(clone3, 435) X(openat2, 437)

/*
 * Syscalls of TC_SYSCALLS defined without arguments (SYSCALL_DEFINE0): some
 * kernels' BTF has no __x64_sys_<name> for them, only __do_sys_<name>(void)
 * at the same address, which their fexit program then attaches to.
 */
#define TC_SYSCALLS_NOARGS(X) X(fork) X(vfork)

/*
 * Where syscalls are recorded (the syscall_hook byte the addon sets): the one
 * tp_btf/sys_exit program, or a fexit program per interesting syscall.
 */
#define TC_HOOK_SYS_EXIT 0
#define TC_HOOK_FEXIT 1

#define TC_NR_ENUM(name, nr) TC_NR_##name = nr,
enum tc_syscall_nr { TC_SYSCALLS(TC_NR_ENUM) TC_NR__END };
#undef TC_NR_ENUM

#endif /* TIERCEL_SENSOR_H */
