// Private to the HDF5 module: turns a read of a mapped file that another process truncated (SIGBUS)
// into zero bytes and a flag the reader checks afterwards (docs/security.md, "Truncation while mapped").
#pragma once
#include <stddef.h>

/// Watches [start, start + length) for SIGBUS; installs the handler on first use. The slot to pass to
/// the functions below, or -1 when all 64 slots are taken (the range is then not guarded).
int map_guard_register(const void *start, size_t length);
/// Stops watching the range of `slot` (before it is unmapped).
void map_guard_unregister(int slot);
/// Whether a read of the range of `slot` faulted because the file shrank (its rest now reads as zeros).
int map_guard_truncated(int slot);
