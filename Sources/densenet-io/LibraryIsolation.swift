import Foundation
import HDF5
import ReadLimits

/// Process policy for HDF5 files the project's byte reader does not cover (docs/security.md,
/// "Isolation"): before libhdf5 1.10, which crashes and hangs on some malformed files, parses one in
/// this process, a child process — this binary's hidden `_check-hdf5` — lets libhdf5 read every object
/// of it under CPU-time, address-space and wall-time limits. Only a clean exit lets this process go on;
/// a crash, a hang or a limit becomes `LibraryCheckFailed` (exit 2, naming the file). Files the byte
/// reader covers (all Keras writes) never start a child.
enum LibraryIsolation {
    /// Makes every read-only HDF5 open of this process go through `check` (`File.uncoveredFileCheck`).
    static func install() {
        File.uncoveredFileCheck = { try check($0) }
    }

    /// The child's limits for a file of `size` bytes.
    struct Limits {
        /// CPU seconds: 5, and 1 more per 16 MiB (libhdf5 reads a 33 MB Keras file in well under one).
        let cpuSeconds: Int
        /// Bytes of address space: 2 GiB for the runtime and libraries, and 3 read budgets (the largest
        /// object the budget lets a read allocate, libhdf5's converted copy, what the budget's check copies).
        let addressSpace: Int
        /// Wall-clock seconds before the child is killed: 3 × its CPU time, for a shared machine.
        var wallSeconds: Int { 3 * cpuSeconds }

        init(forFileOf size: Int) {
            cpuSeconds = 5 + size / (16 << 20)
            let budgets = ReadLimits.budget(forSourceOf: size).multipliedReportingOverflow(by: 3)
            addressSpace = budgets.overflow ? Int.max : (2 << 30) + min(budgets.partialValue, Int.max - (2 << 30))
        }
    }

    /// Runs `_check-hdf5` on `file` (its bytes on the child's standard input for an image) and
    /// throws `LibraryCheckFailed` unless the child exits 0.
    static func check(_ file: UncoveredFile) throws {
        let size: Int
        var arguments = ["_check-hdf5", file.name]
        switch file {
        case .path(let path):
            size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        case .image(let bytes, _):
            size = bytes.count
            arguments.append("--standard-input")
        }
        let limits = Limits(forFileOf: size)
        arguments += ["--cpu-seconds", String(limits.cpuSeconds), "--address-space", String(limits.addressSpace)]
        let input: Data? = if case .image(let bytes, _) = file { bytes } else { nil }
        let outcome = try ChildProcess.run(arguments: arguments, input: input, wallSeconds: limits.wallSeconds)
        switch outcome {
        case .exited(0, _):
            return
        case .exited(let status, let message):  // a read over the budget: the child's own line, naming the object
            throw LibraryCheckFailed(message: "\(file.name): " + (message.isEmpty ? "refused: exit status \(status) \(isolated)" : message))
        case .signaled(let signal) where signal == SIGXCPU || signal == SIGKILL:
            throw LibraryCheckFailed(
                message: "\(file.name): refused: libhdf5 used more than \(limits.cpuSeconds) s of CPU time reading it \(isolated)")
        case .signaled(let signal):
            let name = strsignal(signal).map { String(cString: $0) } ?? "signal \(signal)"
            throw LibraryCheckFailed(message: "\(file.name): refused: libhdf5 died reading it (\(name)) \(isolated)")
        case .timedOut:
            throw LibraryCheckFailed(
                message: "\(file.name): refused: libhdf5 did not finish reading it within \(limits.wallSeconds) s \(isolated)")
        }
    }

    private static let isolated =
        "in a separate process (a layout the project's own reader does not cover goes to libhdf5 there first; docs/security.md)"
}

/// An HDF5 file refused because libhdf5 failed on it in the isolated check (`LibraryIsolation`).
struct LibraryCheckFailed: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
