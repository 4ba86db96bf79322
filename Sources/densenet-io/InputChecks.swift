import DenseNetEngine
import Foundation
import KerasFormat
import ReadLimits

/// A command that would write over one of its inputs: refused before any work (`convert same.h5
/// same.h5` used to succeed and rewrite the input).
struct OutputIsInput: Error, CustomStringConvertible {
    let output: String
    let input: String

    var description: String {
        output == input
            ? "\(output): the output is the input file; write to another file"
            : "\(output): the output is the input file \(input) (a link to it); write to another file"
    }
}

/// Throws `OutputIsInput` when `output` names the same file as any of `inputs` (same device and inode,
/// so hard and symbolic links count); an output that does not exist yet is never an input.
func refuseOverwriting(_ inputs: String?..., with output: String?) throws {
    guard let output, let target = fileIdentity(output) else { return }
    if let input = inputs.compactMap({ $0 }).first(where: { fileIdentity($0) == target }) {
        throw OutputIsInput(output: output, input: input)
    }
}

private func fileIdentity(_ path: String) -> [UInt64]? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return [UInt64(status.st_dev), UInt64(status.st_ino)]
}

/// Prints one warning line per weight of `model` holding NaN or infinite values (found by
/// `NonFiniteValues`): converting keeps them bit-exactly, but the user should know.
func warnAboutNonFiniteValues(in model: Model, from input: String) {
    for finding in NonFiniteValues.find(in: model) {
        FileHandle.standardError.write(Data("densenet-io: warning: \(input): \(finding)\n".utf8))
    }
}

extension ReadLimits {
    /// The read budget's ratio from DENSENET_IO_INFLATION_LIMIT (docs/security.md); unset keeps 64.
    static func configure(from environment: [String: String]) throws {
        guard let text = environment["DENSENET_IO_INFLATION_LIMIT"] else { return }
        guard let ratio = Int(text), ratio >= 1 else { throw InvalidInflationLimit(text: text) }
        inflationRatio = ratio
    }
}

struct InvalidInflationLimit: Error, CustomStringConvertible {
    let text: String
    var description: String { "DENSENET_IO_INFLATION_LIMIT must be a whole number ≥ 1 (a multiple of the file's size), got \(text)" }
}
