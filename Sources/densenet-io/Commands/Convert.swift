import ArgumentParser
import DenseNetEngine
import Foundation
import KerasFormat
import ONNXFormat

/// `densenet-io convert IN OUT`: moves a model's weights between any two formats, losslessly.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert weights between tf-keras, Keras 3 and safetensors files (and any other known format).",
        discussion: """
            The input's format is told from its contents; the output's from --to, else from its name \
            (.safetensors, .weights.h5, .h5). The weights pass through the named architecture, which gives \
            each format's names and layouts; values are copied bit-exactly (permuted where PyTorch's layout \
            differs), and the written file is read back and checked bit-identical before the command succeeds. \
            Optimizer state goes along wherever both files can hold it (tf-keras full-model files, Keras 3 \
            .weights.h5 and .keras, the tf-keras optimizer file), renamed between the Keras generations; the \
            output says when it is left out. To an ONNX model (--to onnx, or a name ending in .onnx): the \
            graph for inference, opset 17, with an NHWC input by default (--onnx-layout nchw for NCHW), read \
            back and checked against the model.
            """)

    @Argument(help: "The input weight file (any known format).", completion: .file())
    var input: String

    @Argument(help: "The file to write (replaced atomically).", completion: .file())
    var output: String

    @Option(help: .outputFormat, completion: .weightFileFormats)
    var to: String?

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var onnxOptions: ONNXOptions

    @OptionGroup(title: "Optimizer (for files that do not record their optimizer's hyperparameters)")
    var optimizerOptions: OptimizerOptions

    func validate() throws { _ = try OutputTarget(named: to, for: output) }

    func run() throws {
        try refuseOverwriting(input, with: output)
        let target = try OutputTarget(named: to, for: output)
        let file = try WeightFile(input)
        let choice = try modelOptions.choice(for: file)
        let (model, name) = (try choice.build(), choice.name)
        let stored = try loadWeights(from: file, into: model, named: name)
        warnAboutNonFiniteValues(in: model, from: input)
        guard case let .weights(format) = target else {
            let source = ONNXSource(path: input, format: file.format.name, model: name, producerVersion: DenseNetIO.version)
            let written = try saveONNXVerified(model, layout: onnxOptions.layout, source: source, to: output)
            let note = stored == nil ? "" : "; optimizer state not written (an ONNX model is for inference)"
            print(
                "Converted \(input) (\(file.format.name)) to \(output) (ONNX) as \(name): \(written.summary); read back well formed and bit-identical\(note)"
            )
            return
        }
        var optimizer: TrainedOptimizer?, unresolved: String?
        if let stored {
            let named = optimizerOptions.optimizer != nil || optimizerOptions.setsHyperparameters
            let hint = named ? try optimizerOptions.config(fallback: try stored.configuration()) : nil
            do {
                if let config = try hint ?? stored.configuration() {
                    optimizer = try stored.resolved(for: config, variables: model.trainableVariables)
                } else {
                    unresolved = "\(input) does not name its optimizer"
                }
            } catch let error as KerasFormatError where !named && stored.config == nil {
                // Keras' defaults of the named class did not fit (SGD with momentum, say): the user knows more.
                unresolved = "\(input) records no hyperparameters and Keras' defaults do not fit its state (\(error.found))"
            }
        }
        let (values, optimizerNote) = try saveVerified(
            model, optimizer: optimizer, to: output, format: format, fresh: choice.build(seed: 1))
        var note = optimizerNote.map { "; \($0)" } ?? ""
        if let unresolved { note = "; optimizer state not written: \(unresolved) (--optimizer NAME and its options name it)" }
        print(
            "Converted \(input) (\(file.format.name)) to \(output) (\(format.name)) as \(name): "
                + "\(format.holdsWeights ? "\(model.weights.count) weights, \(grouped(values)) values" : "no weights (an optimizer file)"); read back bit-identical\(note)"
        )
    }
}
