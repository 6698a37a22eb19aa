//! glibc malloc settings for training (the CLI sets them first thing; so do the criterion
//! benches, which time the same step).
//!
//! Every step allocates and frees the same few multi-megabyte buffers (activations, im2col,
//! gradients). By default glibc serves those with fresh mmaps and returns them on free, so
//! each step pays page faults and kernel zeroing: measured ~45% of a training step here
//! (`perf`), and `bench-train` ran 1.8× faster with the heap kept instead. Keep blocks up to
//! 32 MiB (glibc's maximum mmap threshold) on the heap and do not trim it eagerly.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    // SAFETY: mallopt only changes allocator parameters, under glibc's arena lock; callers
    // call it first, before the buffers it is about are allocated.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}
