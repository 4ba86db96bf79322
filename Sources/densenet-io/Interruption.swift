import Dispatch
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// SIGINT (Ctrl-C) and SIGTERM while training: the first lets the current step finish so the loop
/// can write its checkpoint and say how to resume; a second one exits at once, as shells expect.
/// The signals are received on a Dispatch queue, not in a signal handler, so nothing async-unsafe runs.
final class Interruption: @unchecked Sendable {
    private let first = Atomic<Int32>(0)
    private var sources: [DispatchSourceSignal] = []

    init() {
        for number in [SIGINT, SIGTERM] {
            Glibc.signal(number, SIG_IGN)  // the source below receives it instead of the default handler
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                guard first.compareExchange(expected: 0, desired: number, ordering: .relaxed).exchanged else {
                    _exit(128 + number)
                }
                FileHandle.standardError.write(
                    Data("\ndensenet-io: \(Self.name(number)): finishing this step (again to quit at once)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    var received: Int32? {
        let number = first.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// The shell's exit status for a run ended by `number`: 130 for SIGINT, 143 for SIGTERM.
    static func exitStatus(_ number: Int32) -> Int32 { 128 + number }

    static func name(_ number: Int32) -> String { number == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)" }
}
