package store

// defaultBootIDPath holds the kernel's random id of the current boot.
const defaultBootIDPath = "/proc/sys/kernel/random/boot_id"
