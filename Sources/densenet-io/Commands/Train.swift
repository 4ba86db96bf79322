import ArgumentParser
import Datasets
import DenseNetEngine
import Foundation
import KerasFormat

/// `densenet-io train`: the tutorial's training loop, printing its line per epoch.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the tutorial DenseNet on an MNIST-format folder (Fashion-MNIST by default).",
        discussion: """
            Prints the tutorial's line per epoch: `Epoch 1, Loss: …, Accuracy: …, Test Loss: …, Test Accuracy: …`, \
            and on a terminal a live progress bar. The same seed on the same machine gives a bit-identical run.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A folder with the four MNIST-format IDX files (raw or .gz).")
    var data = MNISTFolder.defaultPath

    @Option(help: "Number of epochs.")
    var epochs = 10

    @Option(help: "Samples per training step; the last partial batch is kept.")
    var batchSize = 32

    @Option(help: "Seeds the initial weights and each epoch's shuffle.")
    var seed: UInt64 = 0

    @Option(help: "Train on the first N training images only.")
    var limit: Int?

    @Option(help: "Evaluate on the first N test images only.")
    var testLimit: Int?

    @Option(help: "Write the trained weights here when done (.h5: tf-keras, .weights.h5: Keras 3).")
    var save: String?

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit must be at least 1") }
        if let save, WeightFileFormat(fileName: save) == nil {
            throw ValidationError("--save needs a .h5 or .weights.h5 file name, got \(save)")
        }
    }

    func run() throws {
        let folder = MNISTFolder(data)
        let train = try folder.load(.train, limit: limit).engineImages()
        let test = try folder.load(.test, limit: testLimit).engineImages()
        let model = try modelOptions.build(seed: seed)
        let trainer = try Trainer(model: model, batchSize: batchSize, shuffleSeed: seed)
        let steps = trainer.stepsPerEpoch(samples: train.count)
        for _ in 0..<epochs {
            let progress = ProgressBar(total: steps)
            var samples = 0
            guard let result = try trainer.trainEpoch(train, onStep: { event in
                samples += event.batchSize
                progress.update(step: event.step, samples: samples, metrics: [
                    ProgressMetric("loss", event.metrics.meanLoss), ProgressMetric("accuracy", event.metrics.accuracy),
                ])
                return .continue
            }) else { break }
            progress.finish()
            let evaluation = try trainer.evaluate(test)
            print(EpochLine(epoch: result.epoch + 1, loss: result.loss, accuracy: result.accuracy,
                            testLoss: evaluation.loss, testAccuracy: evaluation.accuracy))
        }
        if let save, let format = WeightFileFormat(fileName: save) {
            try model.saveWeights(to: save, format: format)
            print("Saved \(format.rawValue) weights to \(save)")
        }
    }
}

/// The tutorial's per-epoch line; values print as the tutorial's float32 metrics do.
struct EpochLine: CustomStringConvertible {
    let epoch: Int
    let loss, accuracy, testLoss, testAccuracy: Double

    var description: String {
        func value(_ x: Double) -> String { "\(Double(Float(x)))" }
        return "Epoch \(epoch), Loss: \(value(loss)), Accuracy: \(value(accuracy * 100)), "
            + "Test Loss: \(value(testLoss)), Test Accuracy: \(value(testAccuracy * 100))"
    }
}

extension Datasets.LabeledImages {
    /// The same images as the engine's training data.
    func engineImages() throws -> DenseNetEngine.LabeledImages {
        try DenseNetEngine.LabeledImages(images: pixels, labels: labels.map(Int.init), sampleShape: [height, width, channels])
    }
}
