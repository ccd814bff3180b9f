/*
 * Tiercel syscall record wire format, version 1.
 *
 * The one definition of the records the eBPF sensor emits and the TypeScript
 * decoder (src/syscall/record.ts) reads; capture files store the same bytes.
 * Included by the BPF programs and the Node addon. All integers are
 * little-endian. A record is a header, an array of parameter lengths, then
 * the parameters, padded to a multiple of 8 bytes.
 *
 *   offset  size  field
 *        0     8  ts        event time, ns since the Unix epoch
 *        8     4  tid       thread id (host pid namespace)
 *       12     4  tgid      thread group id = process id
 *       16     4  len       total record length in bytes, padding included
 *       20     2  type      event type: a syscall number (x86_64 table) below
 *                           TC_EVT_PSEUDO_BASE, or a pseudo event above it
 *       22     2  cpu       cpu the event was recorded on
 *       24     8  res       return value (syscall result; 0 for pseudo events)
 *       32     2  nparams   number of parameters
 *       34  2*nparams       length in bytes of each parameter
 *        .     .  params    parameters back to back, in the order the
 *                           schema (src/syscall/schema.ts) gives for `type`
 *
 * Parameter encodings (TC_PT_*):
 *   U64/I64: 8 bytes; U32/I32: 4 bytes; U16: 2 bytes.
 *   STR: bytes without a terminator (length may be 0: unknown/empty).
 *   STRV: strings each followed by a NUL (argv, environment, cgroups).
 *   SOCKADDR: u8 family, then for AF_INET 4 address bytes + u16 port (host
 *     order), for AF_INET6 16 address bytes + u16 port, for AF_UNIX the path.
 *   SOCKTUPLE: u8 family, then for AF_INET/AF_INET6 source address, source
 *     port (u16), destination address, destination port (u16); for AF_UNIX
 *     u64 source and u64 destination socket addresses, then the path.
 *   BYTES: raw bytes.
 * A parameter whose length is 0 is absent (not captured or not applicable).
 */
#ifndef TIERCEL_WIRE_H
#define TIERCEL_WIRE_H

#define TC_WIRE_VERSION 1

#define TC_HDR_TS 0
#define TC_HDR_TID 8
#define TC_HDR_TGID 12
#define TC_HDR_LEN 16
#define TC_HDR_TYPE 20
#define TC_HDR_CPU 22
#define TC_HDR_RES 24
#define TC_HDR_NPARAMS 32
#define TC_HDR_SIZE 34

/* Largest record the sensor emits (bigger ones are dropped and counted). */
#define TC_MAX_RECORD_SIZE 65536

/* Event types above the syscall number space. */
#define TC_EVT_PSEUDO_BASE 1024
enum tc_pseudo_event {
	TC_EVT_PROCEXIT = 1024,     /* sched_process_exit: a thread ended */
	TC_EVT_DROP = 1025,         /* the sensor lost records: counts by category */
	TC_EVT_SWITCH = 1026,       /* sched_switch (not captured by default) */
	TC_EVT_SIGNALDELIVER = 1027, /* a signal was delivered */
	TC_EVT_CAPTUREMETA = 1028    /* capture files only: state learned while capturing (JSON), never from the kernel */
};

/* Parameter encodings. */
enum tc_param_type {
	TC_PT_U64 = 1,
	TC_PT_I64 = 2,
	TC_PT_U32 = 3,
	TC_PT_I32 = 4,
	TC_PT_U16 = 5,
	TC_PT_STR = 6,
	TC_PT_STRV = 7,
	TC_PT_SOCKADDR = 8,
	TC_PT_SOCKTUPLE = 9,
	TC_PT_BYTES = 10
};

/* Address families as they appear in SOCKADDR/SOCKTUPLE (Linux values). */
#define TC_AF_UNIX 1
#define TC_AF_INET 2
#define TC_AF_INET6 10

#endif /* TIERCEL_WIRE_H */
