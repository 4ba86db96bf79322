import ArgumentParser
import Foundation
import ReadLimits

/// The `densenet-io` command: trains DenseNets and moves their weights between Keras, PyTorch
/// and checkpoint files. Each subcommand lives in its own file under Commands/.
///
/// Exit status everywhere: 0 success, 1 a check failed (verify, diff), 2 a usage or input error,
/// reported as one line on standard error.
@main
struct DenseNetIO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "densenet-io",
        abstract: "Train DenseNets on the CPU and move their weights in and out of Keras and PyTorch files.",
        version: version,
        subcommands: [
            Train.self, Inspect.self, Diff.self, Convert.self, Verify.self, Export.self, Import.self, Bench.self, Plot.self, CheckHDF5.self
        ])

    static func main() {
        do {
            try ReadLimits.configure(from: ProcessInfo.processInfo.environment)
            LibraryIsolation.install()
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Self.exit(withError: code)
        } catch {
            if exitCode(for: error) == .success { Self.exit(withError: error) }  // --help, --version
            let message =
                !isParserError(error)
                ? String(describing: error)
                : unknownSubcommandMessage(Array(CommandLine.arguments.dropFirst())) ?? fullMessage(for: error)
            FileHandle.standardError.write(Data("densenet-io: \(message)\n".utf8))
            Self.exit(withError: ExitCode(2))
        }
    }

    /// Errors of the argument parser itself (its messages come with usage help).
    private static func isParserError(_ error: Error) -> Bool {
        error is ValidationError || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}
