import ArgumentParser
import DenseNetEngine
import Foundation
import KerasFormat

/// `densenet-io convert IN OUT`: moves a model's weights between any two formats, losslessly.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert weights between tf-keras, Keras 3 and safetensors files (and any other known format).",
        discussion: """
            The input's format is told from its contents; the output's from --to, else from its name \
            (.safetensors, .weights.h5, .h5). The weights pass through the named architecture, which gives \
            each format's names and layouts; values are copied bit-exactly (permuted where PyTorch's layout \
            differs), and the written file is read back and checked bit-identical before the command succeeds.
            """)

    @Argument(help: "The input weight file (any known format).")
    var input: String

    @Argument(help: "The file to write (replaced atomically).")
    var output: String

    @Option(help: ArgumentHelp("Output format: \(WeightFileFormat.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "format"))
    var to: String?

    @OptionGroup var modelOptions: ModelOptions

    func outputFormat() throws -> WeightFileFormat {
        if let to {
            guard let format = WeightFileFormat(rawValue: to) else {
                throw ValidationError("--to takes one of \(WeightFileFormat.allCases.map(\.rawValue).joined(separator: ", ")), got \(to)")
            }
            return format
        }
        guard let format = WeightFileFormat(fileName: output) else {
            throw ValidationError("cannot tell the output format from \(output); name it .safetensors, .weights.h5 or .h5, or pass --to")
        }
        return format
    }

    func validate() throws { _ = try outputFormat() }

    func run() throws {
        let format = try outputFormat()
        let model = try modelOptions.build()
        let inputFormat = try model.loadWeights(from: input)
        try model.saveWeights(to: output, format: format)
        let check = try modelOptions.build(seed: 1)
        try check.loadWeights(from: output)
        let source = model.weights, copy = check.weights
        for (a, b) in zip(source, copy) where a.values.map(\.bitPattern) != b.values.map(\.bitPattern) {
            FileHandle.standardError.write(Data("densenet-io: \(output): weight \(a.name) \(a.shape) did not read back bit-identical\n".utf8))
            throw ExitCode(1)
        }
        let values = source.reduce(0) { $0 + $1.count }
        print("Converted \(input) (\(inputFormat.rawValue)) to \(output) (\(format.rawValue)) as \(modelOptions.model): "
              + "\(source.count) weights, \(grouped(values)) values; read back bit-identical")
    }
}
