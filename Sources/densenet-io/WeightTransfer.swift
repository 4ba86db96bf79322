import ArgumentParser
import DenseNetEngine
import Foundation
import KerasFormat

/// Writes `model`'s weights to `output` in `format`, then reads them back into `fresh` (a second
/// model of the same architecture) and fails with exit status 1 unless every value is
/// bit-identical. Returns the number of values written.
func saveVerified(_ model: Model, to output: String, format: WeightFileFormat, fresh: Model) throws -> Int {
    try model.saveWeights(to: output, format: format)
    try fresh.loadWeights(from: output)
    for (a, b) in zip(model.weights, fresh.weights) where a.values.map(\.bitPattern) != b.values.map(\.bitPattern) {
        FileHandle.standardError.write(Data("densenet-io: \(output): weight \(a.name) \(a.shape) did not read back bit-identical\n".utf8))
        throw ExitCode(1)
    }
    return model.weights.reduce(0) { $0 + $1.count }
}

/// The output format named by `--to`, else told from the file name.
func outputFormat(named name: String?, for output: String) throws -> WeightFileFormat {
    let known = WeightFileFormat.allCases.map(\.name).joined(separator: ", ")
    if let name {
        guard let format = WeightFileFormat(name: name) else { throw ValidationError("--to takes one of \(known), got \(name)") }
        return format
    }
    guard let format = WeightFileFormat(fileName: output) else {
        throw ValidationError(
            "cannot tell the output format from \(output); name it .safetensors, .keras, .weights.h5 or .h5, or pass --to")
    }
    return format
}
