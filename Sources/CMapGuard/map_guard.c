// A process-wide SIGBUS handler for the file mappings `FileImage` makes. A read past the end of a file
// another process truncated faults with SIGBUS; inside a registered range the handler maps anonymous
// zero pages over the rest of it (mmap is a plain system call on Linux, safe in a handler), marks the
// slot, and returns: the read resumes on zeros and the reader throws once it asks. A fault outside every
// range goes to the handler installed before, so real crashes stay crashes.
#define _GNU_SOURCE
#include "map_guard.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

enum { slot_count = 64 };
static _Atomic uintptr_t starts[slot_count], ends[slot_count];
static atomic_int truncated[slot_count];
static struct sigaction previous;
static uintptr_t page_size;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void on_bus_error(int signal, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int slot = 0; slot < slot_count; slot++) {
        uintptr_t start = atomic_load(&starts[slot]), end = atomic_load(&ends[slot]);
        if (start == 0 || address < start || address >= end) continue;
        uintptr_t from = address & ~(page_size - 1);
        uintptr_t to = (end + page_size - 1) & ~(page_size - 1);
        if (mmap((void *)from, to - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
            atomic_store(&truncated[slot], 1);
            return;
        }
    }
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(signal, info, context);
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(signal);
    } else {
        struct sigaction fallback = {.sa_handler = SIG_DFL};
        sigaction(SIGBUS, &fallback, NULL);  // returning re-runs the read, which now ends the process
    }
}

static void install(void) {
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct sigaction action = {.sa_sigaction = on_bus_error, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous);
}

int map_guard_register(const void *start, size_t length) {
    pthread_once(&installed, install);
    for (int slot = 0; slot < slot_count; slot++) {
        uintptr_t free_slot = 0;
        if (atomic_load(&ends[slot]) != 0) continue;
        if (!atomic_compare_exchange_strong(&ends[slot], &free_slot, (uintptr_t)start + length)) continue;
        atomic_store(&truncated[slot], 0);
        atomic_store(&starts[slot], (uintptr_t)start);
        return slot;
    }
    return -1;
}

void map_guard_unregister(int slot) {
    if (slot < 0 || slot >= slot_count) return;
    atomic_store(&starts[slot], 0);
    atomic_store(&ends[slot], 0);
}

int map_guard_truncated(int slot) {
    return slot >= 0 && slot < slot_count && atomic_load(&truncated[slot]);
}
