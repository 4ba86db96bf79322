import DenseNetEngine
import Foundation
import HDF5
import KerasFormat
import TestSupport
import Testing

/// A DenseNet written by real Keras with Fixtures/keras/generate_densenet_fixtures.py: its files and
/// its reference `inputs`, `labels`, `outputs`, one-step `loss` and weights `after/<layer>/<var>`.
struct DenseNetFixture {
    let flavor: KerasFlavor
    let prefix: String

    static func small(_ flavor: KerasFlavor) -> DenseNetFixture {
        DenseNetFixture(flavor: flavor, prefix: Fixture.path("keras/densenet_small_\(flavor == .tfKeras ? "tfkeras" : "keras3")"))
    }

    static func densenet121(_ flavor: KerasFlavor) -> DenseNetFixture {
        DenseNetFixture(flavor: flavor, prefix: Fixture.path("keras/generated/densenet121_\(flavor == .tfKeras ? "tfkeras" : "keras3")"))
    }

    /// The full model: tf-keras `.h5` with `model_config`, or Keras 3 `.keras`.
    var modelFile: String { flavor == .tfKeras ? prefix + ".h5" : prefix + ".keras" }
    /// `save_weights`: tf-keras legacy HDF5, or Keras 3 `.weights.h5`.
    var weightsFile: String { flavor == .tfKeras ? prefix + "_weights.h5" : prefix + ".weights.h5" }
    var ioFile: String { prefix + "_io.h5" }
    var isPresent: Bool { [modelFile, weightsFile, ioFile].allSatisfy { FileManager.default.fileExists(atPath: $0) } }

    func reference() throws -> (inputs: [Float], labels: [Int], outputs: [Float], loss: Float, layerNames: [String]) {
        let root = try File.open(ioFile).root
        return (
            try root.dataset("inputs").read(as: Float.self).scalars,
            try root.dataset("labels").read(as: Int64.self).scalars.map { Int($0) },
            try root.dataset("outputs").read(as: Float.self).scalars,
            try root.dataset("loss").read(as: Float.self).scalars[0],
            try root.attributes.stringArray("layer_names")
        )
    }

    /// Keras' weights after the one training step, paired with the model's variables.
    func weightsAfterStep(_ model: FunctionalModel) throws -> [(label: String, ours: Variable, keras: [Float])] {
        let root = try File.open(ioFile).root
        return try model.nodes.flatMap { node in
            try node.layer.ownVariables.map { v in
                let path = "after/\(node.layer.name!)/\(v.name)"
                return (path, v, try root.dataset(path).read(as: Float.self).scalars)
            }
        }
    }

    /// Builds the model from the file's own config and loads the file's `save_weights` weights.
    func loadedModel() throws -> Model {
        let model = try KerasModelConfig(contentsOf: modelFile).makeModel(parallel: Parallel(workers: 2))
        try model.loadWeights(from: weightsFile)
        return model
    }

    /// Predictions ≤ 1e-4 from Keras', written files structurally identical to Keras' own, and one
    /// Adam step (learning rate 1e-3) ≤ 1e-4 from Keras': loss, BatchNorm statistics and weights.
    ///
    /// `signFlips`: the fraction of weights allowed to differ by Adam's first-step bound (2 × lr)
    /// instead. Adam's first update is ±lr whatever |g|, so an element whose float32 gradient is
    /// within float32 noise of zero moves either way. BatchNormalization and bias gradients round
    /// as TensorFlow's (TensorFlowOrder), and the small model then meets 1e-4 on every element; in
    /// DenseNet-121 the convolutions' own summation order still leaves noise: Keras' float32
    /// gradient differs from its float64 gradient by up to 15% of the largest
    /// (`Fixtures/check_keras_densenet.py --float64`), and 37 (Keras 3) to 1 616 (tf-keras) of
    /// 7 million elements (≤ 0.025%), worst in the stem convolution's kernel, step the other way.
    func checkAgainstKeras(_ model: Model, signFlips: Double = 0) throws {
        let reference = try reference()
        let outputs = try model.predict(reference.inputs, batchSize: reference.labels.count)
        let outputDiff = maxAbsDifference(outputs, reference.outputs)
        let label = prefix.split(separator: "/").last!
        print("\(label): outputs max |diff| \(outputDiff)")
        #expect(outputs.count == reference.outputs.count)
        #expect(outputDiff <= 1e-4)

        let written = temporaryPath(flavor == .tfKeras ? "w.h5" : "w.weights.h5")
        defer { try? FileManager.default.removeItem(atPath: written) }
        try model.saveWeights(to: written, format: flavor == .tfKeras ? .tfKerasWeights : .keras3Weights)
        #expect(try fileStructure(written) == fileStructure(weightsFile))

        let learningRate: Float = 1e-3
        let trainer = try Trainer(
            model: model, optimizer: AdamConfig(learningRate: Double(learningRate)),
            batchSize: reference.labels.count)
        let loss = try trainer.trainStep(images: reference.inputs, labels: reference.labels)
        let functional = try #require(model.root as? FunctionalModel)
        var worstStatistic: Float = 0, worst: (String, Float) = ("", 0)
        var elements = 0, beyond = 0
        for (path, variable, keras) in try weightsAfterStep(functional) {
            #expect(keras.count == variable.count, "\(path)")
            let differences = zip(variable.values, keras).map { abs($0 - $1) }
            if !variable.isTrainable {
                worstStatistic = max(worstStatistic, differences.max() ?? 0)
                continue
            }
            elements += differences.count
            beyond += differences.filter { $0 > 1e-4 }.count
            let d = differences.max() ?? 0
            if d > worst.1 { worst = (path, d) }
        }
        print(
            "\(label): one step: loss \(loss) vs Keras \(reference.loss); moving statistics max |diff| \(worstStatistic); "
                + "weights max |diff| \(worst.1) (\(worst.0)), \(beyond) of \(elements) elements beyond 1e-4")
        #expect(abs(loss - reference.loss) <= 1e-4)
        #expect(worstStatistic <= 1e-4)
        // Noise-sized gradients flip Adam's first step (±lr): TensorFlow's BatchNorm bits hold only on a CPU
        // whose rsqrt estimate is the fixtures' (RecordingCPU); elsewhere a few in a hundred thousand flip.
        let allowed = RecordingCPU.reproducesTensorFlowRsqrt ? signFlips : max(signFlips, 1e-5)
        #expect(Double(beyond) <= allowed * Double(elements), "\(beyond) elements beyond 1e-4, worst \(worst.0)")
        #expect(worst.1 <= 2 * learningRate * 1.001 + 1e-4, "worst weight \(worst.0)")
    }
}

@Suite struct ConfigTests {
    @Test(arguments: KerasFlavor.allCases)
    func smallDenseNetConfigIsKerasGraph(flavor: KerasFlavor) throws {
        let fixture = DenseNetFixture.small(flavor)
        let config = try KerasModelConfig(contentsOf: fixture.modelFile)
        #expect(config.flavor == flavor)
        #expect(config.name == "densenet")
        #expect(config.inputShape == [64, 64, 3])
        #expect(config.outputName == "predictions")
        #expect(config.layers.map(\.name) == (try fixture.reference().layerNames))
        let concat = try #require(config.layers.first { $0.name == "conv2_block1_concat" })
        #expect(concat.inbound == ["pool1", "conv2_block1_2_conv"])
        // The same graph as Keras Applications' code path rebuilt by DenseNetApplication.
        let fromConfig = try config.makeFunctionalModel()
        let fromPreset = try DenseNetApplication.build(
            DenseNetOptions(
                blocks: [2, 2, 2, 2], inputShape: [64, 64, 3], classes: 10,
                flavor: flavor))
        #expect(fromConfig.nodes.map { $0.layer.name } == fromPreset.nodes.map { $0.layer.name })
        #expect(fromConfig.nodes.map { $0.layer.kerasClassName } == fromPreset.nodes.map { $0.layer.kerasClassName })
        #expect(fromConfig.nodes.map(\.inbound) == fromPreset.nodes.map(\.inbound))
        #expect(fromConfig.name == fromPreset.name)
        #expect(fromConfig.inputName == fromPreset.inputName)
        let bn = try #require(fromConfig.nodes.first { $0.layer.name == "bn" }?.layer as? BatchNormalization)
        #expect(bn.epsilon == Float(1.001e-5))
        #expect(bn.movingVarianceUpdate == flavor.movingVarianceUpdate)
    }

    @Test(arguments: KerasFlavor.allCases)
    func smallDenseNetFromItsConfigMatchesKeras(flavor: KerasFlavor) throws {
        let fixture = DenseNetFixture.small(flavor)
        try fixture.checkAgainstKeras(try fixture.loadedModel())
    }

    @Test(arguments: KerasFlavor.allCases)
    func smallDenseNetFromPresetCodeMatchesKeras(flavor: KerasFlavor) throws {
        let fixture = DenseNetFixture.small(flavor)
        let root = try DenseNetApplication.build(
            DenseNetOptions(blocks: [2, 2, 2, 2], inputShape: [64, 64, 3], classes: 10, flavor: flavor))
        let model = try Model(root: root, inputShape: [64, 64, 3], parallel: Parallel(workers: 2))
        try model.loadWeights(from: fixture.weightsFile)
        try fixture.checkAgainstKeras(model)
    }

    @Test func fullModelH5WeightsLoadFromModelWeightsGroup() throws {
        let fixture = DenseNetFixture.small(.tfKeras)
        let model = try KerasModelConfig(contentsOf: fixture.modelFile).makeModel()
        let layout = TFKerasWeightLayout(tree: NamedLayerTree(model: model.root))
        try TFKerasWeightsFormat.load(layout, from: File.open(fixture.modelFile).root.group("model_weights"), file: fixture.modelFile)
        let reference = try fixture.reference()
        #expect(maxAbsDifference(try model.predict(reference.inputs, batchSize: 4), reference.outputs) <= 1e-4)
    }

    /// tf-keras file → densenet-io → Keras 3 file → densenet-io: the same weights, bit for bit,
    /// and the Keras 3 file laid out as Keras 3 lays out its own.
    @Test func crossFormatConversionIsExact() throws {
        let tf = DenseNetFixture.small(.tfKeras), k3 = DenseNetFixture.small(.keras3)
        let source = try tf.loadedModel()
        let path = temporaryPath("converted.weights.h5")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try source.saveWeights(to: path, format: .keras3Weights)
        let target = try KerasModelConfig(contentsOf: k3.modelFile).makeModel()
        try target.loadWeights(from: path)
        #expect(target.weights.map { $0.values.map(\.bitPattern) } == source.weights.map { $0.values.map(\.bitPattern) })
        let inputs = try tf.reference().inputs
        #expect(try target.predict(inputs, batchSize: 4) == source.predict(inputs, batchSize: 4))
        // Structure differs from Keras 3's own file only by the names tf-keras gave the input and stem
        // (input_1 vs input_layer, conv1/conv vs conv1_conv), stored as `name` attributes.
        let ours = try fileStructure(path), keras = try fileStructure(k3.weightsFile)
        let differing = Set(ours).symmetricDifference(keras)
        #expect(ours.count == keras.count)
        #expect(differing.count == 8, "\(differing.sorted())")
        #expect(differing.allSatisfy { $0.contains("@name") && ($0.contains("conv1") || $0.contains("input")) }, "\(differing.sorted())")
    }

    @Test func unsupportedLayerIsNamed() throws {
        let fixture = DenseNetFixture.small(.tfKeras)
        let text = try File.open(fixture.modelFile).root.attributes.string("model_config")
        let edited = text.replacingOccurrences(of: #""class_name": "ZeroPadding2D""#, with: #""class_name": "Cropping2D""#)
        let config = try KerasModelConfig(json: edited, file: "edited")
        let error = try #require(throws: KerasFormatError.self) { try config.makeFunctionalModel() }
        #expect(error.layer == "zero_padding2d")
        #expect(error.found == "class Cropping2D")
        #expect(error.description.contains("Cropping2D"))
        #expect(error.description.contains("zero_padding2d"))

        let dilated = text.replacingOccurrences(of: #""dilation_rate": [1, 1]"#, with: #""dilation_rate": [2, 2]"#)
        let dilationError = try #require(throws: KerasFormatError.self) {
            try KerasModelConfig(json: dilated).makeFunctionalModel()
        }
        #expect(dilationError.layer == "conv1/conv")

        let archive = DenseNetFixture.small(.keras3).weightsFile  // weights only: no config
        #expect(throws: KerasFormatError.self) { try KerasModelConfig(contentsOf: archive) }
        #expect(throws: KerasFormatError.self) { try KerasModelConfig(json: #"{"class_name": "Sequential", "config": {"layers": []}}"#) }
    }
}
