import Foundation

/// This binary run again as a child process (posix_spawn of /proc/self/exe), for `LibraryIsolation`.
enum ChildProcess {
    /// How a child ended.
    enum Outcome: Equatable {
        /// It exited with `status`; `message` is its error line without the `densenet-io: ` prefix.
        case exited(Int32, message: String)
        /// A signal ended it (a crash, or the kernel's CPU-time limit).
        case signaled(Int32)
        /// It ran longer than its wall-clock limit and was killed.
        case timedOut
    }

    struct SpawnFailed: Error, CustomStringConvertible {
        let code: Int32
        var description: String { "cannot start a child process of densenet-io: \(String(cString: strerror(code)))" }
    }

    /// Runs this binary with `arguments`, `input` on its standard input (else /dev/null), standard
    /// output discarded, no core file and no Swift backtrace; kills it after `wallSeconds`.
    static func run(arguments: [String], input: Data?, wallSeconds: Int) throws -> Outcome {
        let errors = try pipeEnds(), inputs = try input.map { _ in try pipeEnds() }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let inputs {
            posix_spawn_file_actions_adddup2(&actions, inputs.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
        // The Swift runtime's crash report would symbolicate for seconds: the parent names the signal instead.
        let environment =
            ProcessInfo.processInfo.environment.filter { $0.key != "SWIFT_BACKTRACE" }
            .map { "\($0.key)=\($0.value)" } + ["SWIFT_BACKTRACE=enable=no"]
        let pid = try withCStrings([CommandLine.arguments[0]] + arguments) { argv in
            try withCStrings(environment) { envp in
                var pid: pid_t = 0
                let code = posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, envp)
                guard code == 0 else { throw SpawnFailed(code: code) }
                return pid
            }
        }
        close(errors.write)
        if let inputs, let input {
            close(inputs.read)
            feed(input, to: inputs.write)
        }
        let outcome = wait(for: pid, wallSeconds: wallSeconds)
        let message = readAll(errors.read)
        close(errors.read)
        if case .exited(let status, _) = outcome { return .exited(status, message: firstLine(of: message)) }
        return outcome
    }

    /// A pipe whose ends close on exec (posix_spawn's dup2 gives the child its own copies).
    private static func pipeEnds() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SpawnFailed(code: errno) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// Writes `data` to `fd` on a thread of its own that blocks SIGPIPE, then closes `fd`: a child that
    /// dies before reading everything makes the write fail (EPIPE) instead of killing this process. The
    /// signal stays pending on that thread and is discarded when it ends.
    private static func feed(_ data: Data, to fd: Int32) {
        let writer = Thread {
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0, errno == EINTR { continue }
                    guard written > 0 else { break }
                    offset += written
                }
            }
            close(fd)
        }
        writer.start()
    }

    /// Waits for `pid` (polling from 0.2 ms up to 10 ms), killing it after `wallSeconds`.
    private static func wait(for pid: pid_t, wallSeconds: Int) -> Outcome {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(wallSeconds) * 1_000_000_000
        var status: Int32 = 0, pause: UInt32 = 200
        while waitpid(pid, &status, WNOHANG) == 0 {
            if DispatchTime.now().uptimeNanoseconds > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                return .timedOut
            }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        let signal = status & 0x7F  // WTERMSIG; 0 when it exited (WIFEXITED)
        return signal == 0 ? .exited((status >> 8) & 0xFF, message: "") : .signaled(signal)
    }

    private static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func firstLine(of text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.hasPrefix("densenet-io: ") ? String(line.dropFirst("densenet-io: ".count)) : line
    }

    /// Runs `body` with `strings` as a NULL-terminated C array (argv, envp).
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) throws -> R) rethrows -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return try body(pointers)
    }
}
