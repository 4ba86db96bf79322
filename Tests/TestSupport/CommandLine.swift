import Foundation

/// The result of running the built `densenet-io` binary.
public struct RunResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// The tutorial's per-epoch lines.
    public var epochLines: [String] { stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("Epoch ") } }
}

public enum CLI {
    /// `densenet-io`, built next to the test bundle in the build products folder.
    public static let binary: URL = {
        var candidates: [URL] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        for folder in candidates {
            var url = folder
            for _ in 0..<4 {
                let binary = url.appendingPathComponent("densenet-io")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: binary.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    return binary
                }
                url = url.deletingLastPathComponent()
            }
        }
        fatalError("densenet-io binary not found near \(candidates.map(\.path))")
    }()

    /// Runs `densenet-io arguments…` to completion, capturing both streams; `environment` adds to
    /// (or replaces in) this process's environment. With `fileSizeLimit`, no file it writes may grow
    /// past that many bytes (RLIMIT_FSIZE, SIGXFSZ ignored): writes fail as on a full disk.
    /// `launcher`: a command that starts the binary, e.g. `mpirun -np 2` (its path first).
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], fileSizeLimit: Int? = nil, launcher: [String] = []
    ) throws -> RunResult {
        let process = Process()
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = launcher.dropFirst() + [binary.path] + arguments
        } else if let fileSizeLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(fileSizeLimit / 512); exec \"$0\" \"$@\"", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Both streams go to files, so a full pipe can never block the process.
        let folder = FileManager.default.temporaryDirectory
        let outURL = folder.appendingPathComponent("densenet-io-out-\(UUID().uuidString)")
        let errURL = folder.appendingPathComponent("densenet-io-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { [outURL, errURL].forEach { try? FileManager.default.removeItem(at: $0) } }
        let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return RunResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A copy of `fixture` in `folder`, for a deliberately broken variant.
public func copy(_ fixture: String, to folder: URL, as name: String) throws -> String {
    let path = folder.appendingPathComponent(name).path
    try FileManager.default.copyItem(atPath: fixture, toPath: path)
    return path
}
