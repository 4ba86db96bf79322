import ArgumentParser
import DenseNetEngine
import KerasFormat
import ONNXFormat

/// `densenet-io export CKPT OUT`: a training checkpoint out to a Keras or PyTorch file.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a training checkpoint to a Keras or PyTorch file.",
        discussion: """
            To keras or checkpoint, the whole training state goes along (weights, BatchNorm statistics, optimizer); \
            to keras3 the weights and the optimizer (as Keras 3 save_weights of a compiled model); to keras2 or \
            safetensors the weights and BatchNorm statistics, and to keras2-optimizer the optimizer alone (the file \
            tf-keras users of a subclassed model load beside save_weights) — each checked to read back bit-identical. \
            To onnx (or a name ending in .onnx) the model for inference, as `convert` writes it.
            """)

    @Argument(help: "A densenet-io checkpoint (.h5 or .keras).", completion: .file())
    var checkpoint: String

    @Argument(help: "The file to write (replaced atomically).", completion: .file())
    var output: String

    @Option(help: .outputFormat, completion: .weightFileFormats)
    var to: String?

    @OptionGroup var onnxOptions: ONNXOptions

    func validate() throws { _ = try OutputTarget(named: to, for: output) }

    func run() throws {
        try refuseOverwriting(checkpoint, with: output)
        let target = try OutputTarget(named: to, for: output)
        let file = try WeightFile(checkpoint)
        let info = try TrainingCheckpoint.readInfo(file)
        let trainer = try Trainer(
            model: info.model.build(), optimizer: info.optimizer, batchSize: info.run.batchSize,
            shuffleSeed: info.shuffleSeed, lossAveraging: info.run.lossAveraging)
        try TrainingCheckpoint.load(file, into: trainer)
        let model = trainer.model
        guard case let .weights(format) = target else {
            let source = ONNXSource(
                path: checkpoint, format: file.format.name, model: info.model.preset ?? "the checkpoint's model_config",
                producerVersion: DenseNetIO.version)
            let written = try saveONNXVerified(model, layout: onnxOptions.layout, source: source, to: output)
            print(
                "Exported \(checkpoint) (\(info.progress)) to \(output) (ONNX): \(written.summary); read back well formed and bit-identical"
            )
            return
        }
        switch format {
        case .kerasArchive:
            try KerasArchive.write(trainer, model: info.model, run: info.run, to: output)
        case .tfKerasModel:
            try TFKerasModelFile.write(trainer, model: info.model, run: info.run, to: output)
        case .tfKerasWeights, .keras3Weights, .safetensors, .tfKerasOptimizer, .torchOptimizer, .pyTorchCheckpoint:
            let (values, note) = try saveVerified(
                model, optimizer: TrainedOptimizer(trainer.optimizer), to: output, format: format, fresh: info.model.build())
            print(
                "Exported \(checkpoint) (\(info.progress)) to \(output) (\(format.name)): "
                    + "\(format.holdsWeights ? "\(model.weights.count) weights, \(grouped(values)) values" : "no weights (an optimizer file)"); read back bit-identical\(note.map { "; \($0)" } ?? "")"
            )
            return
        }
        print(
            "Exported \(checkpoint) to \(output) (\(format.name)) with its whole training state: "
                + "\(info.progress), \(info.optimizer.kerasClassName) iteration \(trainer.optimizer.iterations)")
    }
}

extension CheckpointInfo {
    /// How far the run got, e.g. "1 epoch and 3 steps trained".
    var progress: String {
        "\(epoch) epoch\(epoch == 1 ? "" : "s") and \(stepInEpoch) step\(stepInEpoch == 1 ? "" : "s") trained"
    }
}
