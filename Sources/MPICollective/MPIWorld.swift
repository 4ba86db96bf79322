// The engine's Collective on MPI_COMM_WORLD: what `mpirun` started, one process per rank.

import CMPI
import DenseNetEngine
import Glibc

/// The processes `mpirun` started (MPI_COMM_WORLD) as the engine's `Collective`: sums are
/// in-place `MPI_Allreduce`s, broadcasts `MPI_Bcast`s of bytes. Joining initialises MPI; nothing of
/// MPI runs in a process that never makes one. Only the thread that made it may use it.
public final class MPIWorld: Collective, @unchecked Sendable {
    /// This process's rank in MPI_COMM_WORLD.
    public let rank: Int
    /// The number of ranks.
    public let size: Int
    /// Wall-clock seconds spent in reductions and broadcasts since joining (waiting for slower
    /// ranks included).
    public private(set) var communicationSeconds = 0.0
    /// Bytes this rank handed to reductions since joining (each sum counts its buffer once).
    public private(set) var reducedBytes = 0
    /// Reductions since joining.
    public private(set) var reductions = 0

    /// Joins the world (`MPI_Init_thread`, funneled: only the training thread calls MPI).
    public init() throws(MPIError) {
        var provided: Int32 = 0
        guard cmpi_initialized() == 0 else { throw MPIError("MPI is already initialised in this process") }
        let status = cmpi_init(&provided)
        guard status == cmpi_success() else { throw MPIError("MPI_Init_thread failed with error \(status)") }
        guard provided >= cmpi_thread_funneled() else {
            throw MPIError("this MPI offers thread level \(provided), below MPI_THREAD_FUNNELED")
        }
        rank = Int(cmpi_rank())
        size = Int(cmpi_size())
    }

    /// True when `mpirun` (Open MPI's, or another PMI launcher) started this process.
    public static func launchedByMPI(environment: [String: String]) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMI_SIZE"] != nil
    }

    /// The ranks `mpirun` started on this host (nil when unknown), to share its processors among.
    public static func ranksOnThisHost(environment: [String: String]) -> Int? {
        environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }
    }

    /// Leaves the world (`MPI_Finalize`); every rank calls it once, at the end.
    public func finalize() { _ = cmpi_finalize() }

    /// Stops every rank at once (`MPI_Abort`), for a failure the other ranks cannot know about.
    public func abort(status: Int32) -> Never {
        _ = cmpi_abort(status)
        exit(status)
    }

    /// Sums over every rank (`MPI_Allreduce`, `MPI_SUM`, in place).
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        timed(bytes: values.count * MemoryLayout<Float>.size) {
            _ = cmpi_allreduce_sum_float(values.baseAddress, Int32(values.count))
        }
    }

    /// Sums over every rank (`MPI_Allreduce`, `MPI_SUM`, in place).
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        timed(bytes: values.count * MemoryLayout<Double>.size) {
            _ = cmpi_allreduce_sum_double(values.baseAddress, Int32(values.count))
        }
    }

    /// `root`'s bytes on every rank (`MPI_Bcast`).
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) {
        timed(bytes: 0) { _ = cmpi_broadcast(bytes.baseAddress, Int32(bytes.count), Int32(root)) }
    }

    /// Runs `body`, adding its wall-clock time; MPI's default error handler (MPI_ERRORS_ARE_FATAL)
    /// stops every rank on a failed call, so there is no status left to check.
    private func timed(bytes: Int, _ body: () -> Void) {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        communicationSeconds += Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
        if bytes > 0 {
            reducedBytes += bytes
            reductions += 1
        }
    }
}

/// MPI could not be joined; the message says why.
public struct MPIError: Error, CustomStringConvertible {
    /// What failed, in a sentence.
    public let description: String
    init(_ description: String) { self.description = description }
}
