import ArgumentParser
import DenseNetEngine
import Foundation
import KerasFormat

/// Writes `model`'s weights, and `optimizer` where `format` holds optimizer state, to `output`, then
/// reads them back into `fresh` (a second model of the same architecture) and fails with exit status
/// 1 unless every value is bit-identical. Returns the number of weight values written and a sentence
/// on the optimizer state: written (and read back), or why not.
func saveVerified(
    _ model: Model, optimizer: TrainedOptimizer? = nil, to output: String, format: WeightFileFormat, fresh: Model
) throws -> (values: Int, optimizerNote: String?) {
    func fail(_ what: String) -> ExitCode {
        FileHandle.standardError.write(Data("densenet-io: \(output): \(what) did not read back bit-identical\n".utf8))
        return ExitCode(1)
    }
    try model.saveWeights(to: output, format: format, optimizer: optimizer)
    let written = try WeightFile(output)
    if format.holdsWeights {
        try fresh.loadWeights(from: written)
        for (a, b) in zip(model.weights, fresh.weights) where a.values.map(\.bitPattern) != b.values.map(\.bitPattern) {
            throw fail("weight \(a.name) \(a.shape)")
        }
    }
    guard let optimizer else { return (format.holdsWeights ? model.weights.reduce(0) { $0 + $1.count } : 0, nil) }
    guard format.holdsOptimizerState else {
        return (
            model.weights.reduce(0) { $0 + $1.count },
            "optimizer state not written: \(format.description) files hold weights only (--to \(format.optimizerCompanion.name) writes it to a file of its own)"
        )
    }
    guard let stored = try written.readOptimizer(),
        try stored.resolved(for: optimizer.config, variables: model.trainableVariables).state.bitPatterns == optimizer.state.bitPatterns
    else { throw fail("\(optimizer.config.kerasClassName) state") }
    let slots = optimizer.state.slots.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } }
    return (
        format.holdsWeights ? model.weights.reduce(0) { $0 + $1.count } : 0,
        "\(optimizer.config.kerasClassName) state at iteration \(optimizer.state.iterations) written (\(grouped(slots)) slot values)"
    )
}

extension OptimizerState {
    /// The state with every value as its bit pattern, for bit-exact comparison (NaN included).
    var bitPatterns: [[[UInt32]]] { slots.map { $0.values.map { $0.map(\.bitPattern) } } + [[[UInt32(truncatingIfNeeded: iterations)]]] }
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
