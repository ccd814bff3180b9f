# The eBPF syscall sensor addon (docs/sensor.md). Build it with
# `node scripts/build-native.mjs`, which first generates build/bpf/vmlinux.h,
# compiles src/syscall/native/sensor.bpf.c and generates the skeleton header
# build/bpf/tc_sensor_bpf.skel.h that sensor_core.c includes.
{
  "targets": [
    {
      "target_name": "tiercel_sensor",
      "sources": [
        "src/syscall/native/addon.c",
        "src/syscall/native/sensor_core.c"
      ],
      "include_dirs": [
        "src/syscall/native",
        "build/bpf"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lpthread"]
    }
  ]
}
