import DenseNetEngine
import Foundation
import KerasFormat
import TestSupport
import Testing

/// `--no-include-top` and `--pooling`: Keras Applications' DenseNets without their classifier.
@Suite struct HeadlessPresetTests {
    /// DenseNet-121 at 32×32×3 (Keras' smallest input) without its top, global average pooling.
    static let headless = ["--model", "densenet121", "--input-shape", "32,32,3", "--no-include-top", "--pooling", "avg"]

    /// Weights of DenseNet-121 without its top at 32×32×3, as densenet-io writes them (no Keras file
    /// of it is committed; `Fixtures/check_keras_functional_archive.py` checks such models in Keras).
    func headlessWeights(_ path: String, pooling: DenseNetPooling?) throws -> String {
        try ModelPreset.named("densenet121").build(inputShape: [32, 32, 3], includeTop: false, pooling: pooling, seed: 3)
            .saveWeights(to: path, format: .keras3Weights)
        return path
    }

    @Test func inspectVerifyAndConvertAHeadlessDenseNet() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try headlessWeights(folder.appendingPathComponent("headless.weights.h5").path, pooling: .avg)
        let inspected = try CLI.run(["inspect", weights])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        #expect(inspected.stdout.contains("conv5_block16_2_conv"))
        #expect(!inspected.stdout.contains("predictions"))

        let verified = try CLI.run(["verify", weights] + Self.headless)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("model densenet121, input [32, 32, 3], output [1024]"))
        #expect(verified.stdout.contains("keras        bit-identical"))
        // With the top the same file lacks the classifier's weights.
        let withTop = try CLI.run(["verify", weights, "--model", "densenet121", "--input-shape", "32,32,3"])
        #expect(withTop.status == 1)
        #expect(withTop.stdout.contains("predictions"))
        // Without pooling the output is the last block's feature map (a Keras 3 file has no pooling layer then).
        let bare = try headlessWeights(folder.appendingPathComponent("bare.weights.h5").path, pooling: nil)
        let noPooling = try CLI.run(["verify", bare, "--model", "densenet121", "--input-shape", "32,32,3", "--no-include-top"])
        #expect(noPooling.status == 0, "\(noPooling.stdout)")
        #expect(noPooling.stdout.contains("output [1, 1, 1024]"), "\(noPooling.stdout)")

        // Exported as a .keras archive, whose config.json is the headless graph that verify rebuilds.
        let archive = folder.appendingPathComponent("headless.keras").path
        let converted = try CLI.run(["convert", weights, archive] + Self.headless)
        #expect(converted.status == 0, "\(converted.stderr)")
        let config = try KerasModelConfig(contentsOf: archive)
        #expect(config.outputName == "avg_pool")
        #expect(!config.layers.contains { $0.name == "predictions" })
        let fromConfig = try CLI.run(["verify", archive])
        #expect(fromConfig.status == 0, "\(fromConfig.stdout)\(fromConfig.stderr)")
        #expect(fromConfig.stdout.contains("model the file's model_config, input [32, 32, 3], output [1024]"))
        #expect(try CLI.run(["diff", weights, archive]).status == 0)
    }

    @Test func theHeadOptionsAreRefusedWhereTheyCannotApply() throws {
        let w = try TrainWorkspace()
        let mini = try CLI.run(["verify", Fixture.tfKerasWeights, "--no-include-top"])
        #expect(mini.status == 2, "\(mini.stderr)")
        #expect(mini.stderr.contains("densenet-mini always has its classifier"), "\(mini.stderr)")
        // Training fits the classifier: a model without one is refused before any step.
        let train = try w.train(["--model", "densenet121", "--input-shape", "32,32,3", "--no-include-top", "--pooling", "avg"])
        #expect(train.status == 2, "\(train.stderr)")
        #expect(train.stderr.contains("softmax output"), "\(train.stderr)")
        let pooling = try CLI.run(["verify", Fixture.tfKerasWeights, "--pooling", "min"])
        #expect(pooling.status == 2)
        #expect(pooling.stderr.contains("min"))
        let small = try CLI.run(["verify", Fixture.tfKerasWeights, "--model", "densenet121", "--input-shape", "16,16,3", "--no-include-top"]
        )
        #expect(small.status == 2, "\(small.stderr)")
        #expect(small.stderr.contains("input size must be at least 32x32"), "\(small.stderr)")
    }
}
