// Activation and gradient buffers in huge pages, where the kernel gives them on request.
//
// The training passes stream rows of buffers of several megabytes (a 56×56 dense block's features
// take 26 MB at batch 8) with strides of a kilobyte and more: in 4 KiB pages a pass touches far more
// pages than the TLBs map. Debian's transparent huge pages are "madvise" by default, so a buffer has
// to ask for them. Measured in docs/performance.md ("Training: statistics copied along a dense block,
// huge pages, transitions in one pass").

import Glibc

/// A huge page of x86-64 (and of arm64 with 4 KiB base pages).
let hugePageBytes = 2 << 20

/// Uninitialised memory for `count` floats, released with `deallocate()`. From two huge pages on it
/// starts on a huge page and its whole huge pages are advised as such (advice only: without
/// transparent huge pages they stay small; the partial page at the end is never advised, so no
/// resident memory is added).
func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let bytes = count * MemoryLayout<Float>.stride, advised = hugePagesAdvised(bytes: bytes)
    var memory: UnsafeMutableRawPointer?
    guard advised > 0, posix_memalign(&memory, hugePageBytes, bytes) == 0, let memory else {
        return .allocate(capacity: count)
    }
    madvise(memory, advised, MADV_HUGEPAGE)
    return memory.bindMemory(to: Float.self, capacity: count)
}

/// The bytes of a `bytes`-byte buffer that `allocateFloats` advises: its whole huge pages from two on.
func hugePagesAdvised(bytes: Int) -> Int { bytes >= 2 * hugePageBytes ? bytes / hugePageBytes * hugePageBytes : 0 }
