/*
 * Node-API addon of the syscall sensor (native.d.ts declares its exports).
 *
 *   openSensor(options)  loads and attaches the BPF programs (sensor_core.c)
 *   sensor.start(cb)     starts the consumer thread: it polls the ring buffers
 *                        with backoff (500 us doubling to 30 ms when empty),
 *                        copies records into a batch buffer, and hands each
 *                        batch to JS as one external ArrayBuffer through a
 *                        threadsafe function
 *   sensor.stats()       per-CPU kernel counters, userspace drops, batches
 *   sensor.stop()        joins the thread, detaches, frees (idempotent)
 *   layout()             the wire constants this build was compiled with
 *   bootTimeNs()         CLOCK_REALTIME - CLOCK_BOOTTIME, in ns
 *
 * Backpressure: at most maxQueuedBatches batches wait for JS; when JS falls
 * further behind, the consumer keeps draining the rings (so the kernel does
 * not drop) and discards whole batches, counting their records as userspace
 * drops.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>

#include "sensor_core.h"
#include "wire.h"

#define DEFAULT_RING_BYTES (8u << 20)
#define DEFAULT_MAX_BATCH_BYTES (1u << 20)
#define DEFAULT_MAX_BATCH_DELAY_MS 5
#define DEFAULT_MAX_QUEUED_BATCHES 64
#define BACKOFF_START_NS 500000ULL
#define BACKOFF_MAX_NS 30000000ULL

#define NAPI(call)                                                                      \
	do {                                                                            \
		napi_status _s = (call);                                                \
		if (_s != napi_ok) {                                                    \
			throw_status(env, _s, #call);                                   \
			return NULL;                                                    \
		}                                                                       \
	} while (0)

static void throw_status(napi_env env, napi_status s, const char *what)
{
	const napi_extended_error_info *info = NULL;
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	napi_get_last_error_info(env, &info);
	char msg[512];
	snprintf(msg, sizeof(msg), "tiercel sensor: %s failed: %s", what,
		 info && info->error_message ? info->error_message : "unknown N-API error");
	(void)s;
	napi_throw_error(env, NULL, msg);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- the sensor object ------------------------------------------------------ */

typedef struct batch {
	uint8_t *buf;
	size_t cap;  /* bytes mapped at buf (a multiple of the page size) */
	size_t len;
	size_t nrec;
} batch;

/*
 * Batch buffers are mappings of their own, not malloc memory. From malloc, a
 * 1 MiB buffer freed by V8's finalizer at some later collection raised
 * glibc's mmap threshold, so later buffers came from the consumer thread's
 * arena, whose pages stay resident after free: under a flood the agent's
 * memory grew by tens of MB and never shrank. A mapping costs only the pages
 * written (the rest are never faulted in) and goes back to the kernel when JS
 * is done with it.
 */
static size_t page_size(void)
{
	static size_t page;
	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

static size_t page_round(size_t n)
{
	size_t p = page_size();
	return (n + p - 1) / p * p;
}

static uint8_t *buf_map(size_t cap)
{
	void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void buf_unmap(uint8_t *buf, size_t cap)
{
	if (buf && cap)
		munmap(buf, cap);
}

static void batch_free(batch *b)
{
	buf_unmap(b->buf, b->cap);
	free(b);
}

typedef struct sensor {
	struct tc_core *core;
	napi_env env;
	napi_ref self;             /* strong while started: a running sensor is not collected */
	napi_threadsafe_function tsfn;
	pthread_t thread;
	pthread_mutex_t lock;      /* with wake: lets stop() interrupt the backoff sleep */
	pthread_cond_t wake;
	bool started, stopped, cleanup_hook;
	atomic_bool running;
	atomic_uint inflight;      /* batches handed to the tsfn, not yet delivered */
	atomic_int refs;           /* JS object + tsfn: freed when both are gone */
	unsigned max_inflight;
	size_t max_batch;
	uint64_t max_delay_ns;
	atomic_ullong userspace_drops, batches, records, bytes;
} sensor;

static void sensor_unref(sensor *s)
{
	if (atomic_fetch_sub(&s->refs, 1) == 1) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->wake);
		free(s);
	}
}

/* Stops the thread and frees the kernel side. Safe to call twice; no JS calls. */
static void sensor_shutdown(sensor *s)
{
	if (s->started && atomic_exchange(&s->running, false)) {
		pthread_mutex_lock(&s->lock);
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		/* Batches still queued are freed by call_js with env == NULL. */
		napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
	}
	if (s->core) {
		tc_core_close(s->core);
		s->core = NULL;
	}
	s->stopped = true;
}

static void env_cleanup(void *arg)
{
	sensor *s = arg;
	s->cleanup_hook = false;
	sensor_shutdown(s);
}

static void sensor_finalize(napi_env env, void *data, void *hint)
{
	sensor *s = data;
	(void)hint;
	if (s->cleanup_hook) {
		napi_remove_env_cleanup_hook(env, env_cleanup, s);
		s->cleanup_hook = false;
	}
	sensor_shutdown(s);
	sensor_unref(s);
}

/* ---- consumer thread -------------------------------------------------------- */

/* The external ArrayBuffer's finalizer: hint is the mapped length. */
static void free_buffer(napi_env env, void *data, void *hint)
{
	(void)env;
	buf_unmap(data, (size_t)(uintptr_t)hint);
}

/* Runs on the JS thread (or with env == NULL when the tsfn is torn down). */
static void call_js(napi_env env, napi_value cb, void *context, void *data)
{
	sensor *s = context;
	batch *b = data;
	if (!env || !cb) {
		/* The tsfn is being torn down (after stop): its finalizer may already have run, so s is not touched. */
		batch_free(b);
		return;
	}
	napi_value ab, undefined;
	void *copy = NULL;
	napi_status st = napi_create_external_arraybuffer(env, b->buf, b->len, free_buffer, (void *)(uintptr_t)b->cap, &ab);
	if (st != napi_ok) {
		/* Runtimes without external buffers: one copy. */
		if (napi_create_arraybuffer(env, b->len, &copy, &ab) == napi_ok)
			memcpy(copy, b->buf, b->len);
		buf_unmap(b->buf, b->cap);
	}
	free(b);
	napi_get_undefined(env, &undefined);
	/* An exception thrown by the callback surfaces as an uncaught exception. */
	napi_call_function(env, undefined, cb, 1, &ab, NULL);
	/* Only now is JS done with it: the consumer batches harder while JS is busy. */
	atomic_fetch_sub(&s->inflight, 1);
}

static void tsfn_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	sensor_unref(data);
}

static void sleep_interruptible(sensor *s, uint64_t ns)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ns / 1000000000ULL;
	until.tv_nsec += ns % 1000000000ULL;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->running))
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	pthread_mutex_unlock(&s->lock);
}

static batch *batch_new(size_t cap)
{
	batch *b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	b->cap = page_round(cap);
	b->buf = buf_map(b->cap);
	if (!b->buf) {
		free(b);
		return NULL;
	}
	b->len = 0;
	b->nrec = 0;
	return b;
}

/* Hands a batch to JS, or drops it when JS is too far behind. Returns true if handed over. */
static bool flush(sensor *s, batch *b)
{
	if (atomic_load(&s->inflight) >= s->max_inflight) {
		atomic_fetch_add(&s->userspace_drops, b->nrec);
		return false;
	}
	/* Counted before the call: JS may have the batch before the call returns. */
	size_t nrec = b->nrec, len = b->len;
	atomic_fetch_add(&s->inflight, 1);
	atomic_fetch_add(&s->batches, 1);
	atomic_fetch_add(&s->records, nrec);
	atomic_fetch_add(&s->bytes, len);
	if (napi_call_threadsafe_function(s->tsfn, b, napi_tsfn_nonblocking) != napi_ok) {
		atomic_fetch_sub(&s->inflight, 1);
		atomic_fetch_sub(&s->batches, 1);
		atomic_fetch_sub(&s->records, nrec);
		atomic_fetch_sub(&s->bytes, len);
		atomic_fetch_add(&s->userspace_drops, nrec);
		return false;
	}
	return true;
}

static void *consume(void *arg)
{
	sensor *s = arg;
	uint64_t backoff = BACKOFF_START_NS, started_at = 0;
	batch *b = NULL;
	while (atomic_load(&s->running)) {
		if (!b && !(b = batch_new(s->max_batch))) {
			sleep_interruptible(s, BACKOFF_MAX_NS);
			continue;
		}
		size_t nrec = 0;
		int full = 0;
		size_t n = tc_core_read(s->core, b->buf + b->len, s->max_batch - b->len, &nrec, &full);
		if (n) {
			if (!b->len)
				started_at = now_ns(CLOCK_MONOTONIC);
			b->len += n;
			b->nrec += nrec;
			backoff = BACKOFF_START_NS;
		}
		/*
		 * Hand the batch over when it is full, when it is maxBatchDelayMs old,
		 * or when the rings ran dry while JS is idle (lowest latency). While
		 * JS is busy with earlier batches, records keep accumulating, so
		 * batches grow with the load and callbacks stay few.
		 */
		bool empty = !n && !full;
		bool idle = atomic_load(&s->inflight) == 0;
		if (b->len && (full || (empty && idle) || now_ns(CLOCK_MONOTONIC) - started_at >= s->max_delay_ns)) {
			if (flush(s, b)) {
				b = NULL;
			} else {
				b->len = 0;
				b->nrec = 0;
			}
		}
		if (empty) {
			sleep_interruptible(s, backoff);
			backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
		}
	}
	if (b)
		batch_free(b);
	return NULL;
}

/* ---- argument helpers ------------------------------------------------------- */

static bool get_prop(napi_env env, napi_value obj, const char *name, napi_value *out)
{
	bool has = false;
	napi_valuetype t;
	if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has)
		return false;
	if (napi_get_named_property(env, obj, name, out) != napi_ok)
		return false;
	napi_typeof(env, *out, &t);
	return t != napi_undefined;
}

/* A non-negative integer option; false (with an exception pending) when invalid. */
static bool opt_uint(napi_env env, napi_value obj, const char *name, double min, double max, double *out)
{
	napi_value v;
	if (!get_prop(env, obj, name, &v))
		return true;
	napi_valuetype t;
	napi_typeof(env, v, &t);
	double d;
	if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok || d != (double)(long long)d || d < min ||
	    d > max) {
		char msg[256];
		snprintf(msg, sizeof(msg), "openSensor: options.%s must be an integer from %.0f to %.0f", name, min, max);
		napi_throw_range_error(env, NULL, msg);
		return false;
	}
	*out = d;
	return true;
}

/* ids: array of event type codes -> table. False (exception pending) when invalid. */
static bool read_interesting(napi_env env, napi_value arr, uint8_t *table, const char *who)
{
	bool is_array = false;
	uint32_t n = 0;
	char msg[256];
	memset(table, 0, TC_INTERESTING_SIZE);
	if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) {
		snprintf(msg, sizeof(msg), "%s: interesting must be an array of event type codes", who);
		napi_throw_type_error(env, NULL, msg);
		return false;
	}
	napi_get_array_length(env, arr, &n);
	for (uint32_t i = 0; i < n; i++) {
		napi_value v;
		double d = -1;
		napi_valuetype t;
		napi_get_element(env, arr, i, &v);
		napi_typeof(env, v, &t);
		if (t == napi_number)
			napi_get_value_double(env, v, &d);
		if (d != (double)(long long)d || d < 0 || d >= TC_INTERESTING_SIZE) {
			snprintf(msg, sizeof(msg),
				 "%s: interesting[%u] is not an event type code (an integer from 0 to %d: syscall numbers "
				 "below %d, procexit = %d)",
				 who, i, TC_INTERESTING_SIZE - 1, TC_NR_SYSCALLS, TC_EVT_PROCEXIT);
			napi_throw_range_error(env, NULL, msg);
			return false;
		}
		table[(int)d] = 1;
	}
	return true;
}

static sensor *this_sensor(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
{
	napi_value self;
	void *data = NULL;
	if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok ||
	    !data) {
		napi_throw_type_error(env, NULL, "tiercel sensor: method called on something that is not a Sensor");
		return NULL;
	}
	return data;
}

/* ---- Sensor methods ----------------------------------------------------------- */

static napi_value sensor_start(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], self, name;
	sensor *s = this_sensor(env, info, &argc, argv);
	if (!s)
		return NULL;
	napi_valuetype t = napi_undefined;
	if (argc >= 1)
		napi_typeof(env, argv[0], &t);
	if (t != napi_function) {
		napi_throw_type_error(env, NULL, "Sensor.start: onBatch must be a function");
		return NULL;
	}
	if (s->stopped) {
		napi_throw_error(env, NULL, "Sensor.start: the sensor is stopped (open a new one)");
		return NULL;
	}
	if (s->started) {
		napi_throw_error(env, NULL, "Sensor.start: already started");
		return NULL;
	}
	NAPI(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	NAPI(napi_create_string_utf8(env, "tiercel-sensor", NAPI_AUTO_LENGTH, &name));
	atomic_fetch_add(&s->refs, 1); /* the tsfn's reference */
	napi_status st = napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, s, tsfn_finalize, s, call_js,
							 &s->tsfn);
	if (st != napi_ok) {
		atomic_fetch_sub(&s->refs, 1);
		throw_status(env, st, "napi_create_threadsafe_function");
		return NULL;
	}
	NAPI(napi_create_reference(env, self, 1, &s->self));
	atomic_store(&s->running, true);
	int rc = pthread_create(&s->thread, NULL, consume, s);
	if (rc) {
		atomic_store(&s->running, false);
		napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
		napi_delete_reference(env, s->self);
		s->self = NULL;
		char msg[256];
		snprintf(msg, sizeof(msg), "Sensor.start: creating the consumer thread failed: %s", strerror(rc));
		napi_throw_error(env, NULL, msg);
		return NULL;
	}
	s->started = true;
	return NULL;
}

static napi_value sensor_stop(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	sensor *s = this_sensor(env, info, &argc, NULL);
	if (!s)
		return NULL;
	if (s->cleanup_hook) {
		napi_remove_env_cleanup_hook(env, env_cleanup, s);
		s->cleanup_hook = false;
	}
	sensor_shutdown(s);
	if (s->self) {
		napi_delete_reference(env, s->self);
		s->self = NULL;
	}
	return NULL;
}

static napi_value sensor_set_interesting(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	uint8_t table[TC_INTERESTING_SIZE];
	sensor *s = this_sensor(env, info, &argc, argv);
	if (!s)
		return NULL;
	if (argc < 1) {
		napi_throw_type_error(env, NULL, "Sensor.setInteresting: ids must be an array of event type codes");
		return NULL;
	}
	if (!read_interesting(env, argv[0], table, "Sensor.setInteresting"))
		return NULL;
	if (!s->core) {
		napi_throw_error(env, NULL, "Sensor.setInteresting: the sensor is stopped");
		return NULL;
	}
	char err[512];
	if (tc_core_set_interesting(s->core, table, err, sizeof(err))) {
		char msg[600];
		snprintf(msg, sizeof(msg), "Sensor.setInteresting: %s (the previous set is kept)", err);
		napi_throw_error(env, NULL, msg);
	}
	return NULL;
}

static napi_value num(napi_env env, double v);

static const char *hook_name(const struct tc_core *core)
{
	return core && tc_core_hook(core) == TC_HOOK_FEXIT ? "fexit" : "sys_exit";
}

/* 'fexit' or 'sys_exit': what records syscalls now. */
static napi_value sensor_attach_mode(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	sensor *s = this_sensor(env, info, &argc, NULL);
	if (!s)
		return NULL;
	napi_value out;
	NAPI(napi_create_string_utf8(env, hook_name(s->core), NAPI_AUTO_LENGTH, &out));
	return out;
}

static napi_value syscall_list(napi_env env, const uint16_t *ids, int n)
{
	napi_value arr;
	napi_create_array_with_length(env, n, &arr);
	for (int i = 0; i < n; i++)
		napi_set_element(env, arr, i, num(env, ids[i]));
	return arr;
}

/* The attach mode with its details (native.d.ts, SensorAttachment). */
static napi_value sensor_attachment(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	sensor *s = this_sensor(env, info, &argc, NULL);
	if (!s)
		return NULL;
	napi_value out, str;
	uint16_t ids[TC_NR_SYSCALLS];
	NAPI(napi_create_object(env, &out));
	napi_create_string_utf8(env, hook_name(s->core), NAPI_AUTO_LENGTH, &str);
	napi_set_named_property(env, out, "mode", str);
	napi_create_string_utf8(env, s->core ? tc_core_attach_reason(s->core) : "stopped", NAPI_AUTO_LENGTH, &str);
	napi_set_named_property(env, out, "fallbackReason", str);
	int n = s->core ? tc_core_fexit_attached(s->core, ids, TC_NR_SYSCALLS) : 0;
	napi_set_named_property(env, out, "fexitSyscalls", syscall_list(env, ids, n));
	n = s->core ? tc_core_fexit_available(s->core, ids, TC_NR_SYSCALLS) : 0;
	napi_set_named_property(env, out, "fexitAvailable", syscall_list(env, ids, n));
	napi_set_named_property(env, out, "loadMs", num(env, s->core ? tc_core_load_ns(s->core) / 1e6 : 0));
	napi_set_named_property(env, out, "attachMs", num(env, s->core ? tc_core_attach_ns(s->core) / 1e6 : 0));
	return out;
}

static napi_value big(napi_env env, uint64_t v)
{
	napi_value out;
	napi_create_bigint_uint64(env, v, &out);
	return out;
}

static napi_value num(napi_env env, double v)
{
	napi_value out;
	napi_create_double(env, v, &out);
	return out;
}

static napi_value sensor_stats(napi_env env, napi_callback_info info)
{
	static const char *const cats[] = TC_CAT_NAMES;
	size_t argc = 0;
	sensor *s = this_sensor(env, info, &argc, NULL);
	if (!s)
		return NULL;
	napi_value out, per_cpu, rings;
	NAPI(napi_create_object(env, &out));
	int ncpus = s->core ? tc_core_ncpus(s->core) : 0;
	NAPI(napi_create_array_with_length(env, ncpus, &per_cpu));
	if (s->core) {
		struct tc_counters *c = calloc(ncpus, sizeof(*c));
		if (!c) {
			napi_throw_error(env, NULL, "Sensor.stats: out of memory");
			return NULL;
		}
		int rc = tc_core_counters(s->core, c);
		if (rc) {
			free(c);
			char msg[256];
			snprintf(msg, sizeof(msg), "Sensor.stats: reading the counters map failed: %s", strerror(-rc));
			napi_throw_error(env, NULL, msg);
			return NULL;
		}
		for (int i = 0; i < ncpus; i++) {
			napi_value e, drops;
			napi_create_object(env, &e);
			napi_create_object(env, &drops);
			napi_set_named_property(env, e, "cpu", num(env, i));
			napi_set_named_property(env, e, "events", big(env, c[i].events));
			for (int k = 0; k < TC_CAT_COUNT; k++)
				napi_set_named_property(env, drops, cats[k], big(env, c[i].drops[k]));
			napi_set_named_property(env, drops, "max_event_size", big(env, c[i].drops_max_size));
			napi_set_named_property(env, drops, "no_ring", big(env, c[i].drops_no_ring));
			napi_set_named_property(env, e, "drops", drops);
			napi_set_element(env, per_cpu, i, e);
		}
		free(c);
	}
	int nrings = s->core ? tc_core_nrings(s->core) : 0;
	NAPI(napi_create_array_with_length(env, nrings, &rings));
	for (int i = 0; i < nrings; i++) {
		napi_value e;
		napi_create_object(env, &e);
		napi_set_named_property(env, e, "size", num(env, (double)tc_core_ring_size(s->core)));
		napi_set_named_property(env, e, "used", num(env, (double)tc_core_ring_used(s->core, i)));
		napi_set_element(env, rings, i, e);
	}
	napi_set_named_property(env, out, "perCpu", per_cpu);
	napi_set_named_property(env, out, "userspaceDrops", big(env, atomic_load(&s->userspace_drops)));
	napi_set_named_property(env, out, "batches", big(env, atomic_load(&s->batches)));
	napi_set_named_property(env, out, "records", big(env, atomic_load(&s->records)));
	napi_set_named_property(env, out, "bytes", big(env, atomic_load(&s->bytes)));
	napi_set_named_property(env, out, "queuedBatches", num(env, atomic_load(&s->inflight)));
	napi_set_named_property(env, out, "rings", rings);
	return out;
}

/* ---- module functions --------------------------------------------------------- */

/* Per-environment data (worker threads each load the addon): the Sensor constructor. */
typedef struct addon_data {
	napi_ref ctor;
} addon_data;

/* Address used as the token that lets only openSensor() construct a Sensor. */
static const char ctor_token = 0;

static void addon_data_free(napi_env env, void *data, void *hint)
{
	addon_data *d = data;
	(void)hint;
	if (d->ctor)
		napi_delete_reference(env, d->ctor);
	free(d);
}

static napi_value sensor_ctor(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], self;
	void *token = NULL;
	NAPI(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	if (argc < 1 || napi_get_value_external(env, argv[0], &token) != napi_ok || token != (void *)&ctor_token) {
		napi_throw_type_error(env, NULL, "Sensor cannot be constructed directly: use openSensor()");
		return NULL;
	}
	return self;
}

static napi_value open_sensor(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], opts, ctor, token, obj, ids;
	uint8_t table[TC_INTERESTING_SIZE];
	NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	napi_valuetype t = napi_undefined;
	if (argc >= 1)
		napi_typeof(env, argv[0], &t);
	if (t != napi_object) {
		napi_throw_type_error(env, NULL, "openSensor: options must be an object");
		return NULL;
	}
	opts = argv[0];
	if (!get_prop(env, opts, "interesting", &ids)) {
		napi_throw_type_error(env, NULL, "openSensor: options.interesting (event type codes) is required");
		return NULL;
	}
	if (!read_interesting(env, ids, table, "openSensor"))
		return NULL;

	double ring = DEFAULT_RING_BYTES, per = 1, tgid = getpid(), max_batch = DEFAULT_MAX_BATCH_BYTES,
	       delay = DEFAULT_MAX_BATCH_DELAY_MS, queued = DEFAULT_MAX_QUEUED_BATCHES;
	if (!opt_uint(env, opts, "ringBytes", 4096, 1u << 30, &ring) || !opt_uint(env, opts, "cpusPerRing", 1, 4096, &per) ||
	    !opt_uint(env, opts, "excludeTgid", 0, 4294967295.0, &tgid) ||
	    !opt_uint(env, opts, "maxBatchBytes", TC_MAX_RECORD_SIZE, 1u << 30, &max_batch) ||
	    !opt_uint(env, opts, "maxBatchDelayMs", 0, 60000, &delay) ||
	    !opt_uint(env, opts, "maxQueuedBatches", 1, 1 << 20, &queued))
		return NULL;
	uint64_t ring_bytes = (uint64_t)ring;
	if (ring_bytes & (ring_bytes - 1) || ring_bytes % (uint64_t)sysconf(_SC_PAGESIZE)) {
		napi_throw_range_error(env, NULL,
				       "openSensor: options.ringBytes must be a power of two and a multiple of the page size");
		return NULL;
	}
	enum tc_attach_mode attach = TC_ATTACH_AUTO;
	napi_value mode;
	if (get_prop(env, opts, "attach", &mode)) {
		char m[16] = "";
		size_t len = 0;
		napi_typeof(env, mode, &t);
		if (t == napi_string)
			napi_get_value_string_utf8(env, mode, m, sizeof(m), &len);
		if (!strcmp(m, "fexit"))
			attach = TC_ATTACH_FEXIT;
		else if (!strcmp(m, "sys_exit"))
			attach = TC_ATTACH_SYS_EXIT;
		else if (strcmp(m, "auto")) {
			napi_throw_type_error(env, NULL, "openSensor: options.attach must be 'auto', 'fexit' or 'sys_exit'");
			return NULL;
		}
	}
	uint64_t boot = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	napi_value bt;
	if (get_prop(env, opts, "bootTimeNs", &bt)) {
		bool lossless = true;
		napi_typeof(env, bt, &t);
		if (t != napi_bigint || napi_get_value_bigint_uint64(env, bt, &boot, &lossless) != napi_ok || !lossless) {
			napi_throw_type_error(env, NULL, "openSensor: options.bootTimeNs must be a non-negative bigint");
			return NULL;
		}
	}

	struct tc_core_opts co = {
		.ring_bytes = ring_bytes,
		.cpus_per_ring = (uint32_t)per,
		.exclude_tgid = (uint32_t)tgid,
		.boot_time_ns = boot,
		.interesting = table,
		.attach = attach,
	};
	char err[8192];
	struct tc_core *core = tc_core_open(&co, err, sizeof(err));
	if (!core) {
		napi_throw_error(env, NULL, err);
		return NULL;
	}
	sensor *s = calloc(1, sizeof(*s));
	if (!s) {
		tc_core_close(core);
		napi_throw_error(env, NULL, "openSensor: out of memory");
		return NULL;
	}
	s->core = core;
	s->env = env;
	s->max_batch = (size_t)max_batch;
	s->max_delay_ns = (uint64_t)delay * 1000000ULL;
	s->max_inflight = (unsigned)queued;
	atomic_init(&s->refs, 1);
	atomic_init(&s->running, false);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);

	napi_status st;
	addon_data *d = NULL;
	if ((st = napi_get_instance_data(env, (void **)&d)) != napi_ok || !d ||
	    (st = napi_get_reference_value(env, d->ctor, &ctor)) != napi_ok ||
	    (st = napi_create_external(env, (void *)&ctor_token, NULL, NULL, &token)) != napi_ok ||
	    (st = napi_new_instance(env, ctor, 1, &token, &obj)) != napi_ok ||
	    (st = napi_wrap(env, obj, s, sensor_finalize, NULL, NULL)) != napi_ok) {
		sensor_shutdown(s);
		sensor_unref(s);
		throw_status(env, st, "creating the Sensor object");
		return NULL;
	}
	if (napi_add_env_cleanup_hook(env, env_cleanup, s) == napi_ok)
		s->cleanup_hook = true;
	return obj;
}

static void set_num(napi_env env, napi_value obj, const char *name, double v)
{
	napi_set_named_property(env, obj, name, num(env, v));
}

static napi_value layout(napi_env env, napi_callback_info info)
{
	napi_value out, header, pseudo, enc, fam, sys;
	(void)info;
	NAPI(napi_create_object(env, &out));
	napi_create_object(env, &header);
	napi_create_object(env, &pseudo);
	napi_create_object(env, &enc);
	napi_create_object(env, &fam);
	napi_create_object(env, &sys);
	set_num(env, out, "version", TC_WIRE_VERSION);
	set_num(env, out, "maxRecordSize", TC_MAX_RECORD_SIZE);
	set_num(env, out, "pseudoBase", TC_EVT_PSEUDO_BASE);
	set_num(env, out, "interestingSize", TC_INTERESTING_SIZE);
	set_num(env, header, "TS", TC_HDR_TS);
	set_num(env, header, "TID", TC_HDR_TID);
	set_num(env, header, "TGID", TC_HDR_TGID);
	set_num(env, header, "LEN", TC_HDR_LEN);
	set_num(env, header, "TYPE", TC_HDR_TYPE);
	set_num(env, header, "CPU", TC_HDR_CPU);
	set_num(env, header, "RES", TC_HDR_RES);
	set_num(env, header, "NPARAMS", TC_HDR_NPARAMS);
	set_num(env, header, "SIZE", TC_HDR_SIZE);
	set_num(env, pseudo, "procexit", TC_EVT_PROCEXIT);
	set_num(env, pseudo, "drop", TC_EVT_DROP);
	set_num(env, pseudo, "switch", TC_EVT_SWITCH);
	set_num(env, pseudo, "signaldeliver", TC_EVT_SIGNALDELIVER);
	set_num(env, pseudo, "capturemeta", TC_EVT_CAPTUREMETA);
	set_num(env, enc, "u64", TC_PT_U64);
	set_num(env, enc, "i64", TC_PT_I64);
	set_num(env, enc, "u32", TC_PT_U32);
	set_num(env, enc, "i32", TC_PT_I32);
	set_num(env, enc, "u16", TC_PT_U16);
	set_num(env, enc, "str", TC_PT_STR);
	set_num(env, enc, "strv", TC_PT_STRV);
	set_num(env, enc, "sockaddr", TC_PT_SOCKADDR);
	set_num(env, enc, "socktuple", TC_PT_SOCKTUPLE);
	set_num(env, enc, "bytes", TC_PT_BYTES);
	set_num(env, fam, "unix", TC_AF_UNIX);
	set_num(env, fam, "inet", TC_AF_INET);
	set_num(env, fam, "inet6", TC_AF_INET6);
#define SYS(name, nr) set_num(env, sys, #name, nr);
	TC_SYSCALLS(SYS)
#undef SYS
	napi_set_named_property(env, out, "header", header);
	napi_set_named_property(env, out, "pseudo", pseudo);
	napi_set_named_property(env, out, "encodings", enc);
	napi_set_named_property(env, out, "families", fam);
	napi_set_named_property(env, out, "syscalls", sys);
	return out;
}

static napi_value boot_time_ns(napi_env env, napi_callback_info info)
{
	(void)info;
	return big(env, now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME));
}

NAPI_MODULE_INIT()
{
	napi_value ctor, fn;
	napi_property_descriptor methods[] = {
		{"start", NULL, sensor_start, NULL, NULL, NULL, napi_default_method, NULL},
		{"setInteresting", NULL, sensor_set_interesting, NULL, NULL, NULL, napi_default_method, NULL},
		{"stats", NULL, sensor_stats, NULL, NULL, NULL, napi_default_method, NULL},
		{"stop", NULL, sensor_stop, NULL, NULL, NULL, napi_default_method, NULL},
		{"attachMode", NULL, sensor_attach_mode, NULL, NULL, NULL, napi_default_method, NULL},
		{"attachment", NULL, sensor_attachment, NULL, NULL, NULL, napi_default_method, NULL},
	};
	NAPI(napi_define_class(env, "Sensor", NAPI_AUTO_LENGTH, sensor_ctor, NULL, sizeof(methods) / sizeof(methods[0]),
			       methods, &ctor));
	addon_data *d = calloc(1, sizeof(*d));
	if (!d) {
		napi_throw_error(env, NULL, "tiercel sensor: out of memory");
		return NULL;
	}
	if (napi_set_instance_data(env, d, addon_data_free, NULL) != napi_ok) {
		free(d);
		napi_throw_error(env, NULL, "tiercel sensor: napi_set_instance_data failed");
		return NULL;
	}
	NAPI(napi_create_reference(env, ctor, 1, &d->ctor));
	NAPI(napi_set_named_property(env, exports, "Sensor", ctor));
	NAPI(napi_create_function(env, "openSensor", NAPI_AUTO_LENGTH, open_sensor, NULL, &fn));
	NAPI(napi_set_named_property(env, exports, "openSensor", fn));
	NAPI(napi_create_function(env, "layout", NAPI_AUTO_LENGTH, layout, NULL, &fn));
	NAPI(napi_set_named_property(env, exports, "layout", fn));
	NAPI(napi_create_function(env, "bootTimeNs", NAPI_AUTO_LENGTH, boot_time_ns, NULL, &fn));
	NAPI(napi_set_named_property(env, exports, "bootTimeNs", fn));
	return exports;
}
