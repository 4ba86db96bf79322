// Private shim over Open MPI (Debian's libopenmpi-dev, 4.1). Not API: imported by MPICollective only.
// Swift cannot import MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE are macros
// over Open MPI's globals), so each call the project makes is one static inline function here.
#include <mpi.h>

static inline int cmpi_initialized(void) { int flag = 0; MPI_Initialized(&flag); return flag; }

/// MPI_Init_thread asking for MPI_THREAD_FUNNELED (only the training thread calls MPI); the level given.
static inline int cmpi_init(int *provided) { return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, provided); }

static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }

static inline int cmpi_finalize(void) { return MPI_Finalize(); }

static inline int cmpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

static inline int cmpi_rank(void) { int rank = 0; MPI_Comm_rank(MPI_COMM_WORLD, &rank); return rank; }

static inline int cmpi_size(void) { int size = 1; MPI_Comm_size(MPI_COMM_WORLD, &size); return size; }

static inline int cmpi_allreduce_sum_float(float *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

static inline int cmpi_allreduce_sum_double(double *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static inline int cmpi_broadcast(void *bytes, int count, int root) {
    return MPI_Bcast(bytes, count, MPI_BYTE, root, MPI_COMM_WORLD);
}

static inline int cmpi_success(void) { return MPI_SUCCESS; }
