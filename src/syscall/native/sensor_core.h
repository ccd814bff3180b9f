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

struct tc_core_opts {
	uint64_t ring_bytes;     /* bytes per ring buffer: a power of two, at least a page */
	uint32_t cpus_per_ring;  /* CPUs sharing one ring buffer (1 = per-CPU rings) */
	uint32_t exclude_tgid;   /* process whose threads are not recorded */
	uint64_t boot_time_ns;   /* epoch ns at boot (CLOCK_REALTIME - CLOCK_BOOTTIME) */
	const uint8_t *interesting; /* TC_INTERESTING_SIZE bytes */
};

struct tc_core;

/* Opens, loads and attaches. On failure returns NULL and writes a message to err. */
struct tc_core *tc_core_open(const struct tc_core_opts *opts, char *err, size_t errlen);

/* Replaces the interesting table (TC_INTERESTING_SIZE bytes) while the programs run. */
void tc_core_set_interesting(struct tc_core *c, const uint8_t *table);

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
