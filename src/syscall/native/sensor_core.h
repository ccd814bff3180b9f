/*
 * The sensor without Node: loads and attaches the BPF programs (through the
 * bpftool-generated skeleton), creates and maps the ring buffers, reads
 * records out of them in timestamp order, and reads the counters.
 * addon.c puts Node-API, the consumer thread and batching on top.
 */
#ifndef TIERCEL_SENSOR_CORE_H
#define TIERCEL_SENSOR_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "sensor.h"

/*
 * Where syscalls are recorded. AUTO: a fexit program per interesting syscall
 * when every one of them has one on this kernel and they attach, else
 * tp_btf/sys_exit (tc_core_attach_reason() says why). FEXIT: fexit only
 * (opening, or a set that needs sys_exit, fails). SYS_EXIT: sys_exit only.
 */
enum tc_attach_mode { TC_ATTACH_AUTO = 0, TC_ATTACH_FEXIT = 1, TC_ATTACH_SYS_EXIT = 2 };

struct tc_core_opts {
	uint64_t ring_bytes;     /* bytes per ring buffer: a power of two, at least a page */
	uint32_t cpus_per_ring;  /* CPUs sharing one ring buffer (1 = per-CPU rings) */
	uint32_t exclude_tgid;   /* process whose threads are not recorded */
	uint64_t boot_time_ns;   /* epoch ns at boot (CLOCK_REALTIME - CLOCK_BOOTTIME) */
	const uint8_t *interesting; /* TC_INTERESTING_SIZE bytes */
	enum tc_attach_mode attach;
};

struct tc_core;

/* Opens, loads and attaches. On failure returns NULL and writes a message to err. */
struct tc_core *tc_core_open(const struct tc_core_opts *opts, char *err, size_t errlen);

/*
 * Replaces the interesting table (TC_INTERESTING_SIZE bytes) while the
 * programs run, attaching and detaching fexit programs to match (in AUTO,
 * switching between fexit and sys_exit when the set requires). Returns 0, or
 * -errno with a message in err, the previous set and attachments kept.
 */
int tc_core_set_interesting(struct tc_core *c, const uint8_t *table, char *err, size_t errlen);

/* TC_HOOK_SYS_EXIT or TC_HOOK_FEXIT: what records syscalls now. */
int tc_core_hook(const struct tc_core *c);

/* Why AUTO records through sys_exit ("" when it uses fexit, or was not AUTO). */
const char *tc_core_attach_reason(const struct tc_core *c);

/* Writes the syscall numbers that have a fexit program attached to out (up to cap); returns how many. */
int tc_core_fexit_attached(const struct tc_core *c, uint16_t *out, int cap);

/* Writes the syscall numbers that could get a fexit program on this kernel (loaded programs). */
int tc_core_fexit_available(const struct tc_core *c, uint16_t *out, int cap);

/* Time spent loading the BPF object and attaching the syscall programs at open, ns. */
uint64_t tc_core_load_ns(const struct tc_core *c);
uint64_t tc_core_attach_ns(const struct tc_core *c);

/*
 * Copies whole records, oldest first across the rings, into dst (at most
 * cap bytes). Sets *nrec to the number copied and *full when it stopped
 * because the next record did not fit. Returns the bytes copied.
 */
size_t tc_core_read(struct tc_core *c, uint8_t *dst, size_t cap, size_t *nrec, int *full);

/* Number of possible CPUs (entries of the per-CPU counters). */
int tc_core_ncpus(const struct tc_core *c);

/* Fills out[ncpus] with each CPU's counters; returns 0 or -errno. */
int tc_core_counters(struct tc_core *c, struct tc_counters *out);

/* Number of ring buffers, and bytes used in ring i (producer - consumer). */
int tc_core_nrings(const struct tc_core *c);
uint64_t tc_core_ring_used(const struct tc_core *c, int i);
uint64_t tc_core_ring_size(const struct tc_core *c);

/* Detaches the programs and frees everything. */
void tc_core_close(struct tc_core *c);

#endif /* TIERCEL_SENSOR_CORE_H */
