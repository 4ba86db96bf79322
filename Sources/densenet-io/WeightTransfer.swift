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

/// The output format named by `--to` (in any letter case), else told from the file name. Refused
/// before any work: an unknown name, a file name whose ending says another format than `--to`
/// (`--to safetensors` into `x.h5`), a file in a folder that does not exist.
func outputFormat(named name: String?, for output: String) throws -> WeightFileFormat {
    try checkOutputFolder(output)
    let format = try namedOrEndingFormat(name, for: output)
    guard format.isWritable else {
        throw ValidationError(
            "densenet-io reads \(format.fileExtensions.joined(separator: "/")) files (torch.save) but writes PyTorch's weights as "
                + "safetensors: name the output \(output.dropLast(WeightFileFormat.fileExtension(of: output)?.count ?? 0)).safetensors")
    }
    return format
}

private func namedOrEndingFormat(_ name: String?, for output: String) throws -> WeightFileFormat {
    let endingFormat = WeightFileFormat(fileName: output)
    guard let name else {
        guard let endingFormat else {
            throw ValidationError("cannot tell the output format from \(output); name it \(weightFileEndings), or pass --to")
        }
        return endingFormat
    }
    guard let format = WeightFileFormat(name: name) else {
        throw ValidationError(
            "--to takes one of \(WeightFileFormat.allCases.filter(\.isWritable).map(\.name).joined(separator: ", ")) or \(OutputTarget.onnxName), got \(name)"
        )
    }
    if let endingFormat, let ending = WeightFileFormat.fileExtension(of: output), !format.fileExtensions.contains(ending) {
        let renamed = output.dropLast(ending.count) + format.fileExtensions[0]
        throw ValidationError(
            "--to \(format.name) writes \(format.fileExtensions.joined(separator: " or ")) files, but \(output) ends in \(ending) "
                + "(\(endingFormat.name)); name it \(renamed), or leave out --to")
    }
    return format
}

/// Every file-name ending that names a format holding weights, for messages: ".h5, .hdf5, .weights.h5, … or .keras".
let weightFileEndings: String = {
    let endings = WeightFileFormat.allCases.filter { $0.holdsWeights && $0.isWritable }.flatMap(\.fileExtensions).reduce(into: [String]()) {
        list, ending in
        if !list.contains(ending) { list.append(ending) }
    }
    return endings.dropLast().joined(separator: ", ") + " or " + endings[endings.count - 1]
}()

extension ArgumentHelp {
    /// `--to`'s help: the format names it takes.
    static let outputFormat = ArgumentHelp(
        "Output format: \(WeightFileFormat.allCases.filter(\.isWritable).map(\.name).joined(separator: ", ")) or \(OutputTarget.onnxName) (default: told from the file name).",
        valueName: "format")
}

extension CompletionKind {
    /// `--to`'s values, for the shell completion scripts.
    static let weightFileFormats = CompletionKind.list(WeightFileFormat.allCases.filter(\.isWritable).map(\.name) + [OutputTarget.onnxName])
}

/// Loads `file` into `model` (called `name`); a file whose weights do not fit is refused with the
/// error and a short diagnosis (`MismatchDiagnosis`): counts, the first mismatches, what the file
/// holds and the flags that fit.
func loadWeights(from file: WeightFile, into model: Model, named name: String) throws -> StoredOptimizer? {
    do {
        return try model.loadWeights(from: file)
    } catch let error as KerasFormatError
        where [.missingLayer, .extraLayer, .layerCountMismatch, .weightCountMismatch, .shapeMismatch, .dataTypeMismatch].contains(
            error.reason)
    {
        let diagnosis = try MismatchDiagnosis(model: model, modelName: name, found: WeightListing.read(file))
        throw InputError(([error.description] + diagnosis.lines.map { "  \($0)" }).joined(separator: "\n"))
    }
}
