import ArgumentParser
import DenseNetEngine
import Foundation
import MPICollective

/// A failure every rank of a data-parallel run knows about (all stop with it; rank 0 says it).
struct WorldFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Collective {
    /// Runs `body` on every rank; when it fails on any, every rank throws the message of the lowest
    /// failing rank, so a file missing on one host stops all of them with that host's reason.
    func together<T>(_ body: () throws -> T) throws -> T {
        let outcome = Result(catching: body)
        var message: String?
        if case let .failure(error) = outcome { message = String(describing: error) }
        if size > 1, let failure = firstFailure(message) { throw WorldFailure("rank \(failure.rank): \(failure.message)") }
        return try outcome.get()
    }

    /// Refuses to start unless every rank runs the same command on the same data: `fingerprint`
    /// hashes both (rank 0's is the reference).
    func requireAgreement(on fingerprint: UInt64) throws {
        if let rank = ranksDisagreeing(with: fingerprint).first {
            throw WorldFailure(
                "rank \(rank) runs other arguments or reads other data than rank 0; every rank must run the same command on the same files")
        }
    }
}

/// FNV-1a of the command's arguments and the fingerprints of its data, for `requireAgreement`.
func runFingerprint(arguments: [String], data: [String]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in (arguments + ["--"] + data).joined(separator: "\u{0}").utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}

/// Runs `body` as one rank of the MPI world `mpirun` started, on this host's share of the
/// processors. Only rank 0 writes to standard output. A failure every rank knows about (and an
/// interruption's exit status) ends every rank in order; any other failure is this rank's alone,
/// so it is reported with the rank and `MPI_Abort` stops the others.
func runAsRank(environment: [String: String], _ body: (MPIWorld, Parallel) throws -> Void) throws {
    let world = try MPIWorld()
    if world.rank > 0 {
        let null = open("/dev/null", O_WRONLY)
        dup2(null, STDOUT_FILENO)
        close(null)
    }
    let ranksHere = MPIWorld.ranksOnThisHost(environment: environment) ?? world.size
    let processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    let parallel = Parallel(workers: Swift.min(8, Swift.max(1, processors / Swift.max(1, ranksHere))))
    let started = Date()
    do {
        try body(world, parallel)
        if world.rank == 0 {
            let seconds = Date().timeIntervalSince(started)
            FileHandle.standardError.write(
                Data(
                    String(
                        format:
                            "densenet-io: %d ranks, %d threads each: rank 0 spent %.2f s of %.2f s in %d reductions (%.1f MB) and broadcasts\n",
                        world.size, parallel.workers, world.communicationSeconds, seconds, world.reductions,
                        Double(world.reducedBytes) / 1e6
                    ).utf8))
        }
    } catch let error where error is WorldFailure || error is ExitCode {
        world.finalize()
        throw world.rank == 0 || error is ExitCode ? error : ExitCode(2)
    } catch {
        FileHandle.standardError.write(Data("densenet-io: rank \(world.rank): \(error)\n".utf8))
        world.abort(status: 2)
    }
    world.finalize()
}

extension Collective {
    /// The interruption every rank acts on: the first signal any rank received (rank order), so all
    /// stop after the same step.
    func firstSignal(_ received: Int32?) -> Int32? {
        guard size > 1 else { return received }
        var signals = [Double](repeating: 0, count: size)
        signals[rank] = Double(received ?? 0)
        signals.withUnsafeMutableBufferPointer { allreduceSum($0) }
        return signals.first(where: { $0 > 0 }).map { Int32($0) }
    }
}
