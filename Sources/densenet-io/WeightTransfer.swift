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

/// The output format named by `--to` (in any letter case), else told from the file name. Refused
/// before any work: an unknown name, a file name whose ending says another format than `--to`
/// (`--to safetensors` into `x.h5`), a file in a folder that does not exist.
func outputFormat(named name: String?, for output: String) throws -> WeightFileFormat {
    try checkOutputFolder(output)
    let endingFormat = WeightFileFormat(fileName: output)
    guard let name else {
        guard let endingFormat else {
            throw ValidationError("cannot tell the output format from \(output); name it \(weightFileEndings), or pass --to")
        }
        return endingFormat
    }
    guard let format = WeightFileFormat(name: name) else {
        throw ValidationError("--to takes one of \(WeightFileFormat.allCases.map(\.name).joined(separator: ", ")), got \(name)")
    }
    if let endingFormat, let ending = WeightFileFormat.fileExtension(of: output), !format.fileExtensions.contains(ending) {
        let renamed = output.dropLast(ending.count) + format.fileExtensions[0]
        throw ValidationError(
            "--to \(format.name) writes \(format.fileExtensions.joined(separator: " or ")) files, but \(output) ends in \(ending) "
                + "(\(endingFormat.name)); name it \(renamed), or leave out --to")
    }
    return format
}

/// Every file-name ending that names a weight format, for messages: ".h5, .hdf5, .weights.h5, … or .safetensors".
let weightFileEndings: String = {
    let endings = WeightFileFormat.allCases.flatMap(\.fileExtensions).reduce(into: [String]()) { list, ending in
        if !list.contains(ending) { list.append(ending) }
    }
    return endings.dropLast().joined(separator: ", ") + " or " + endings[endings.count - 1]
}()

extension ArgumentHelp {
    /// `--to`'s help: the format names it takes.
    static let outputFormat = ArgumentHelp(
        "Output format: \(WeightFileFormat.allCases.map(\.name).joined(separator: ", ")) (default: told from the file name).",
        valueName: "format")
}

extension CompletionKind {
    /// `--to`'s values, for the shell completion scripts.
    static let weightFileFormats = CompletionKind.list(WeightFileFormat.allCases.map(\.name))
}
