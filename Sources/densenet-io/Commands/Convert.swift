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

    @Option(help: ArgumentHelp("Output format: \(WeightFileFormat.allCases.map(\.name).joined(separator: ", ")).", valueName: "format"))
    var to: String?

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws { _ = try outputFormat(named: to, for: output) }

    func run() throws {
        try refuseOverwriting(input, with: output)
        let format = try outputFormat(named: to, for: output)
        let file = try WeightFile(input)
        let (model, name) = try modelOptions.build(for: file)
        try model.loadWeights(from: file)
        warnAboutNonFiniteValues(in: model, from: input)
        let values = try saveVerified(model, to: output, format: format, fresh: modelOptions.build(for: file, seed: 1).model)
        print(
            "Converted \(input) (\(file.format.name)) to \(output) (\(format.name)) as \(name): "
                + "\(model.weights.count) weights, \(grouped(values)) values; read back bit-identical")
    }
}
