import DenseNetEngine
import Foundation
import ONNXFormat
import TestSupport
import Testing

private let source = ONNXSource(path: "tiny.h5", format: "keras2", model: "tiny", producerVersion: "0.1.0")

/// Writes `model` as ONNX to a temporary file and reads it back.
private func exported(_ model: Model, layout: ONNXLayout = .nhwc) throws -> ONNXFile {
    try withTemporaryPath("model.onnx") { path in
        try ONNXExport.write(model, layout: layout, source: source, to: path)
        return try ONNXFile(contentsOf: path)
    }
}

/// A layer ONNX export does not know: doubles its input.
private final class Doubling: Layer, Op {
    let kerasClassName = "Lambda"
    let name: String? = "doubling"
    var ownVariables: [Variable] { [] }
    func call(_ inputs: [SymbolicTensor], in graph: GraphBuilder) throws -> SymbolicTensor { try graph.apply(self, inputs) }
    func outputShape(for inputs: [[Int]]) throws -> [Int] { inputs[0] }
    func makeKernel(_ spec: KernelSpec) -> any Kernel { UnusedKernel() }

    final class UnusedKernel: Kernel {
        func forward(_ io: NodeIO, batch: Int, mode: ForwardMode) {}
        func backward(_ io: NodeIO, batch: Int) {}
    }
}

@Suite struct ONNXExportTests {
    @Test func theTinyFunctionalModelBecomesOneONNXNodePerOpBehindOneTranspose() throws {
        let file = try exported(try makeTinyFunctional(seed: 3))
        #expect(file.irVersion == 8 && file.opset == 17)
        #expect(
            file.nodes.map(\.opType) == [
                "Transpose", "Conv", "BatchNormalization", "Relu", "Concat", "MaxPool", "Transpose", "Flatten", "Gemm", "Softmax"
            ])
        #expect(file.inputs.map { [$0.name, "\($0.elementType)"] + $0.dims } == [["input_1", "1", "batch", "8", "8", "1"]])
        #expect(file.outputs.map { [$0.name, "\($0.elementType)"] + $0.dims } == [["dense", "1", "batch", "10"]])
        #expect(file.nodes[0].attributes == ["perm=[0, 3, 1, 2]"])
        #expect(file.nodes[1].attributes == ["kernel_shape=[3, 3]", "strides=[1, 1]", "pads=[1, 1, 1, 1]", "dilations=[1, 1]", "group=1"])
        #expect(file.nodes[2].attributes == ["epsilon=0.001"])
        #expect(file.nodes[4].attributes == ["axis=1"])
        #expect(file.nodes.last?.outputs == ["dense"])
        #expect(
            file.initializers.map(\.name) == [
                "conv/kernel", "conv/bias", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance", "dense/kernel", "dense/bias"
            ])
        #expect(file.initializers.map(\.dims) == [[4, 1, 3, 3], [4], [4], [4], [4], [4], [80, 10], [10]])
        #expect(file.metadata[ONNXExport.MetadataKey.source] == "tiny.h5")
        #expect(file.metadata[ONNXExport.MetadataKey.layout] == "nhwc")
        #expect(file.producer == "densenet-io 0.1.0")
        #expect(file.wellFormednessProblems.isEmpty)
    }

    @Test func initializersHoldTheWeightsBitsInONNXLayouts() throws {
        let model = try makeTinyFunctional(seed: 5)
        let file = try exported(model)
        let stored = Dictionary(uniqueKeysWithValues: file.initializers.map { ($0.name, $0.rawData) })
        func floats(_ data: Data?) -> [UInt32] {
            (data ?? Data()).withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
        }
        let root = try #require(model.root as? FunctionalModel)
        let conv = try #require(root.nodes[0].layer as? Conv2D)
        let kernel = try #require(conv.kernel)
        // OIHW [4, 1, 3, 3] read back into Keras' HWIO [3, 3, 1, 4].
        let oihw = floats(stored["conv/kernel"])
        var hwio = [UInt32](repeating: 0, count: oihw.count)
        for o in 0..<4 { for y in 0..<3 { for x in 0..<3 { hwio[(y * 3 + x) * 4 + o] = oihw[(o * 3 + y) * 3 + x] } } }
        #expect(hwio == kernel.values.map(\.bitPattern))
        let dense = try #require(root.nodes[6].layer as? Dense)
        #expect(floats(stored["dense/kernel"]) == dense.kernel!.values.map(\.bitPattern))
        let norm = try #require(root.nodes[1].layer as? BatchNormalization)
        #expect(floats(stored["bn/moving_variance"]) == norm.movingVariance!.values.map(\.bitPattern))
    }

    @Test func theNCHWLayoutTakesNCHWInputWithoutATranspose() throws {
        let file = try exported(try makeTinyFunctional(), layout: .nchw)
        #expect(file.nodes.first?.opType == "Conv")
        #expect(file.nodes.first?.inputs.first == "input_1")
        #expect(file.inputs.first?.dims == ["batch", "1", "8", "8"])
        #expect(file.metadata[ONNXExport.MetadataKey.layout] == "nchw")
    }

    @Test func aFeatureMapOutputGoesBackToTheInputsLayout() throws {
        let options = DenseNetOptions(
            blocks: [1, 1, 1, 1], includeTop: false, inputShape: [32, 32, 3], classes: 10, pooling: nil, classifierActivation: .softmax,
            flavor: .tfKeras, name: "features")
        let model = try Model(root: DenseNetApplication.build(options), inputShape: [32, 32, 3])
        let nhwc = try exported(model)
        #expect(nhwc.outputs.first?.dims == ["batch", "1", "1", "\(model.outputShape[2])"])
        #expect(nhwc.nodes.last?.opType == "Transpose")
        #expect(nhwc.nodes.map(\.opType).filter { $0 == "Pad" }.count == 2)
        let nchw = try exported(model, layout: .nchw)
        #expect(nchw.outputs.first?.dims == ["batch", "\(model.outputShape[2])", "1", "1"])
        #expect(nchw.nodes.last?.opType == "Relu")
    }

    @Test func aLayerTheExportDoesNotCoverIsRefusedByNameAndNothingIsWritten() throws {
        let root = FunctionalModel(
            name: "odd", inputName: "input_1",
            nodes: [
                .init(Conv2D(filters: 2, kernelSize: (3, 3), padding: .same, name: "conv"), ["input_1"]),
                .init(Doubling(), ["conv"]),
                .init(Flatten(name: "flatten"), ["doubling"]),
                .init(Dense(units: 3, name: "dense"), ["flatten"])
            ], outputName: "dense")
        let model = try Model(root: root, inputShape: [4, 4, 1])
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("odd.onnx").path
        #expect(
            throws: ONNXFormatError(
                .unsupportedLayer, subject: "layer doubling", expected: ONNXFormatError.supportedLayers, found: "Lambda")
        ) {
            try ONNXExport.write(model, layout: .nhwc, source: source, to: path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func aChangedInitializerByteIsADifferenceFromTheSource() throws {
        let model = try makeTinyFunctional(seed: 7)
        try withTemporaryPath("model.onnx") { path in
            let written = try ONNXExport.write(model, layout: .nhwc, source: source, to: path)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let kernel = try #require(written.initializers.first { $0.name == "dense/kernel" }).rawData
            let offset = try #require(bytes.firstRange(of: kernel)).lowerBound + 17
            bytes[offset] ^= 0x01
            let changed = try ONNXFile(bytes: bytes, file: path)
            #expect(changed.wellFormednessProblems.isEmpty)
            #expect(changed.differences(from: written) == ["initializer dense/kernel: values differ from the source's bits"])
            #expect(try ONNXFile(contentsOf: path).differences(from: written).isEmpty)
        }
    }

    @Test func bytesThatAreNoONNXModelAreRefused() throws {
        let model = try makeTinyFunctional()
        try withTemporaryPath("model.onnx") { path in
            try ONNXExport.write(model, layout: .nhwc, source: source, to: path)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let truncated = bytes.prefix(bytes.count / 2)
            let error = try #require(thrownError(ONNXFormatError.self) { _ = try ONNXFile(bytes: truncated, file: "cut.onnx") })
            #expect(error.reason == .malformed && error.file == "cut.onnx")
        }
    }
}
