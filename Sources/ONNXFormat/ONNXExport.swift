import DenseNetEngine
import Foundation
import KerasFormat
import SwiftProtobuf

/// The layout of the ONNX graph's input (and of a feature-map output).
public enum ONNXLayout: String, CaseIterable, Sendable {
    /// Batch, height, width, channels, as the Keras model takes it: one Transpose at the entry
    /// turns it into ONNX's NCHW (what tf2onnx writes).
    case nhwc
    /// Batch, channels, height, width, as PyTorch-style callers pass images: no Transpose.
    case nchw
}

/// Where an exported model came from, recorded in the file's doc string and metadata_props.
public struct ONNXSource: Sendable, Equatable {
    /// The file the weights were read from, as the user named it.
    public var path: String
    /// Its format, as the command line names it (`keras2`, `safetensors`, ...).
    public var format: String
    /// The architecture the weights went through (`densenet121`, "the file's model_config", ...).
    public var model: String
    /// The densenet-io version writing the file.
    public var producerVersion: String

    /// A source record; every field ends up in the ONNX file's metadata.
    public init(path: String, format: String, model: String, producerVersion: String) {
        self.path = path
        self.format = format
        self.model = model
        self.producerVersion = producerVersion
    }
}

/// Writes an engine `Model` as an ONNX model: opset 17, float32 initializers in ONNX's layouts,
/// inference-mode BatchNormalization, a dynamic batch dimension.
public enum ONNXExport {
    /// The default-domain opset the graph imports.
    public static let opset: Int64 = 17
    /// The IR version that goes with opset 17 (ONNX 1.12's pairing).
    public static let irVersion: Int64 = 8
    /// The name of the batch dimension of the graph's input and output.
    public static let batchDimension = "batch"
    /// The metadata_props keys of the source record (`ONNXSource`) and the input layout.
    public enum MetadataKey {
        /// The source file's path.
        public static let source = "densenet_io.source"
        /// The source file's format name.
        public static let sourceFormat = "densenet_io.source_format"
        /// The architecture the weights went through.
        public static let model = "densenet_io.model"
        /// The writing densenet-io version.
        public static let version = "densenet_io.version"
        /// `nhwc` or `nchw`.
        public static let layout = "densenet_io.input_layout"
    }

    /// Writes `model` to `path` atomically (on any error nothing is written and an older file
    /// stays); returns what it wrote, for comparing with the file read back.
    @discardableResult
    public static func write(_ model: Model, layout: ONNXLayout, source: ONNXSource, to path: String) throws -> ONNXFile {
        let proto = try modelProto(model, layout: layout, source: source)
        let bytes = try proto.serializedData()
        try writeAtomically(to: path) { temporary in
            guard FileManager.default.createFile(atPath: temporary, contents: bytes) else {
                throw KerasFormatError(.io, file: path, found: "cannot create \(temporary)")
            }
        }
        return ONNXFile(proto: proto)
    }

    /// The ONNX model of `model` (its current weights). Throws `ONNXFormatError.unsupportedLayer`
    /// naming the first layer it cannot translate.
    static func modelProto(_ model: Model, layout: ONNXLayout, source: ONNXSource) throws -> Onnx_ModelProto {
        let graph = try model.opGraph()
        var translator = GraphTranslator(graph: graph, layout: layout)
        let inputName = (model.root as? FunctionalModel)?.inputName ?? "input"
        let outputName = (model.root as? FunctionalModel)?.outputName ?? "output"
        var proto = Onnx_ModelProto()
        proto.irVersion = irVersion
        proto.opsetImport = [
            Onnx_OperatorSetIdProto.with {
                $0.domain = ""; $0.version = opset
            }
        ]
        proto.producerName = "densenet-io"
        proto.producerVersion = source.producerVersion
        proto.docString =
            "\(source.model) from \(source.path) (\(source.format)), written by densenet-io \(source.producerVersion); "
            + "\(layout.rawValue.uppercased()) input, inference mode (BatchNormalization with its moving statistics)."
        proto.metadataProps = [
            (MetadataKey.source, source.path), (MetadataKey.sourceFormat, source.format), (MetadataKey.model, source.model),
            (MetadataKey.version, source.producerVersion), (MetadataKey.layout, layout.rawValue)
        ].map { key, value in
            Onnx_StringStringEntryProto.with {
                $0.key = key; $0.value = value
            }
        }
        proto.graph = try translator.translate(inputName: inputName, outputName: outputName)
        proto.graph.name = model.root.name ?? model.root.kerasClassName
        proto.graph.docString = "Keras \(model.root.kerasClassName) \(model.root.name ?? ""), \(model.weights.count) weights"
        return proto
    }
}

/// Turns an `OpGraph` into ONNX nodes and initializers. Inside the graph every image tensor is NCHW
/// (ONNX's convolution layout); per-sample rank-1 tensors are [batch, features].
struct GraphTranslator {
    let graph: OpGraph
    let layout: ONNXLayout
    private var nodes: [Onnx_NodeProto] = []
    private var initializers: [Onnx_TensorProto] = []
    private var usedNames: Set<String> = []
    /// The ONNX value name of each OpGraph node.
    private var values: [String] = []

    init(graph: OpGraph, layout: ONNXLayout) {
        self.graph = graph
        self.layout = layout
    }

    mutating func translate(inputName: String, outputName: String) throws -> Onnx_GraphProto {
        try refuseUnsupportedLayers()
        let inputShape = graph.nodes[0].shape
        let isImage = inputShape.count == 3
        usedNames = [inputName, outputName]
        values = [inputName]
        if isImage && layout == .nhwc {
            values[0] = addNode("Transpose", name: "input_to_nchw", inputs: [inputName], attributes: [.ints("perm", [0, 3, 1, 2])])
        }
        for index in graph.nodes.indices.dropFirst() {
            let node = graph.nodes[index]
            values.append(
                try translate(node.op!, inputs: node.inputs.map { values[$0] }, inputShapes: node.inputs.map { graph.nodes[$0].shape }))
        }
        let outputShape = graph.nodes[graph.output].shape
        var last = values[graph.output]
        if outputShape.count == 3 && layout == .nhwc {
            last = addNode("Transpose", name: "output_to_nhwc", inputs: [last], attributes: [.ints("perm", [0, 2, 3, 1])])
        }
        rename(last, to: outputName)

        var proto = Onnx_GraphProto()
        proto.node = nodes
        proto.initializer = initializers
        proto.input = [valueInfo(inputName, shape: isImage && layout == .nchw ? nchw(inputShape) : inputShape)]
        proto.output = [valueInfo(outputName, shape: outputShape.count == 3 && layout == .nchw ? nchw(outputShape) : outputShape)]
        return proto
    }

    /// Checks every op before any is translated, so the error names the first layer ONNX cannot take.
    private func refuseUnsupportedLayers() throws {
        for node in graph.nodes.dropFirst() where !Self.isSupported(node.op!) {
            let layer = node.op as? any Layer
            throw ONNXFormatError(
                .unsupportedLayer, subject: "layer \(layer.map { $0.name ?? $0.kerasClassName } ?? String(describing: type(of: node.op!)))",
                expected: ONNXFormatError.supportedLayers,
                found: layer?.kerasClassName ?? String(describing: type(of: node.op!)))
        }
    }

    private static func isSupported(_ op: any Op) -> Bool {
        switch op {
        case is Conv2D, is Dense, is BatchNormalization, is ReLUOp, is SoftmaxOp, is Concatenate, is Flatten, is ZeroPadding2D,
            is MaxPooling2D, is AveragePooling2D, is GlobalAveragePooling2D, is GlobalMaxPooling2D:
            return true
        default: return false
        }
    }

    private mutating func translate(_ op: any Op, inputs: [String], inputShapes: [[Int]]) throws -> String {
        let name = (op as? any Layer)?.name ?? String(describing: type(of: op))
        switch op {
        case let conv as Conv2D:
            let pads = spatialPads(inputShapes[0], kernel: conv.kernelSize, strides: conv.strides, padding: conv.padding)
            var arguments = [inputs[0], addInitializer(name, conv.kernel!, layout: .oihw)]
            if let bias = conv.bias { arguments.append(addInitializer(name, bias)) }
            let output = addNode(
                "Conv", name: name, inputs: arguments,
                attributes: [
                    .ints("kernel_shape", [conv.kernelSize.0, conv.kernelSize.1]), .ints("strides", [conv.strides.0, conv.strides.1]),
                    .ints("pads", pads), .ints("dilations", [1, 1]), .int("group", 1)
                ],
                doc: "Keras Conv2D \(name): kernel HWIO → OIHW, padding \(conv.padding.rawValue)")
            return conv.activation == .relu ? addNode("Relu", name: "\(name)/relu", inputs: [output]) : output
        case let dense as Dense:
            var arguments = [inputs[0], addInitializer(name, dense.kernel!)]
            if let bias = dense.bias { arguments.append(addInitializer(name, bias)) }
            let output = addNode("Gemm", name: name, inputs: arguments, doc: "Keras Dense \(name): kernel [in, out] as Keras stores it")
            return dense.activation == .relu ? addNode("Relu", name: "\(name)/relu", inputs: [output]) : output
        case let norm as BatchNormalization:
            let arguments = [norm.gamma!, norm.beta!, norm.movingMean!, norm.movingVariance!].map { addInitializer(name, $0) }
            return addNode(
                "BatchNormalization", name: name, inputs: [inputs[0]] + arguments, attributes: [.float("epsilon", norm.epsilon)],
                doc: "Keras BatchNormalization \(name) in inference mode: moving mean and variance, epsilon \(norm.epsilon)")
        case is ReLUOp:
            return addNode("Relu", name: "Relu", inputs: inputs)
        case is SoftmaxOp:
            return addNode("Softmax", name: "Softmax", inputs: inputs, attributes: [.int("axis", 1)])
        case is Concatenate:
            return addNode("Concat", name: name, inputs: inputs, attributes: [.int("axis", 1)])
        case is Flatten:
            guard inputShapes[0].count == 3 else { return inputs[0] }
            // Keras flattens in H, W, C order: back to NHWC first, so the Dense kernel's rows match.
            let nhwc = addNode("Transpose", name: "\(name)/to_nhwc", inputs: inputs, attributes: [.ints("perm", [0, 2, 3, 1])])
            return addNode("Flatten", name: name, inputs: [nhwc], attributes: [.int("axis", 1)])
        case let pad as ZeroPadding2D:
            let amounts = [0, 0, pad.padding.0.0, pad.padding.1.0, 0, 0, pad.padding.0.1, pad.padding.1.1]
            let pads = addConstant("\(name)/pads", amounts)
            return addNode("Pad", name: name, inputs: [inputs[0], pads], doc: "Keras ZeroPadding2D \(name)")
        case let pool as MaxPooling2D:
            let window = poolingAttributes(inputShapes[0], kernel: pool.poolSize, strides: pool.strides, padding: pool.padding)
            return addNode("MaxPool", name: name, inputs: inputs, attributes: window)
        case let pool as AveragePooling2D:
            let window = poolingAttributes(inputShapes[0], kernel: pool.poolSize, strides: pool.strides, padding: pool.padding)
            // TensorFlow averages over the window's real pixels only.
            return addNode("AveragePool", name: name, inputs: inputs, attributes: window + [.int("count_include_pad", 0)])
        case is GlobalAveragePooling2D, is GlobalMaxPooling2D:
            let pooled = addNode(op is GlobalMaxPooling2D ? "GlobalMaxPool" : "GlobalAveragePool", name: name, inputs: inputs)
            return addNode("Flatten", name: "\(name)/flatten", inputs: [pooled], attributes: [.int("axis", 1)])
        default:
            preconditionFailure("refuseUnsupportedLayers lets only translated ops through")
        }
    }

    /// A pooling window's `kernel_shape`, `strides` and `pads` on an HWC input.
    private func poolingAttributes(_ input: [Int], kernel: (Int, Int), strides: (Int, Int), padding: Padding) -> [Attribute] {
        [
            .ints("kernel_shape", [kernel.0, kernel.1]), .ints("strides", [strides.0, strides.1]),
            .ints("pads", spatialPads(input, kernel: kernel, strides: strides, padding: padding))
        ]
    }

    /// ONNX's [top, left, bottom, right] pads for TensorFlow's `padding` rule on an HWC input.
    private func spatialPads(_ input: [Int], kernel: (Int, Int), strides: (Int, Int), padding: Padding) -> [Int] {
        let axes = [(input[0], kernel.0, strides.0), (input[1], kernel.1, strides.1)].map { size, kernel, stride in
            let (output, before) = convOutputGeometry(input: size, kernel: kernel, stride: stride, padding: padding)
            return (before, Swift.max((output - 1) * stride + kernel - size - before, 0))
        }
        return [axes[0].0, axes[1].0, axes[0].1, axes[1].1]
    }

    private mutating func uniqueName(_ base: String) -> String {
        var name = base
        var suffix = 1
        while !usedNames.insert(name).inserted {
            name = "\(base)_\(suffix)"
            suffix += 1
        }
        return name
    }

    /// Appends a node named after `name` (made unique); returns its output's value name, the node's name.
    private mutating func addNode(
        _ opType: String, name: String, inputs: [String], attributes: [Attribute] = [], doc: String = ""
    ) -> String {
        let unique = uniqueName(name)
        nodes.append(
            Onnx_NodeProto.with {
                $0.opType = opType
                $0.name = unique
                $0.input = inputs
                $0.output = [unique]
                $0.attribute = attributes.map(\.proto)
                if !doc.isEmpty { $0.docString = doc }
            })
        return unique
    }

    private mutating func addInitializer(_ layer: String, _ variable: Variable, layout: InitializerLayout = .asStored) -> String {
        let name = uniqueName("\(layer)/\(variable.name)")
        initializers.append(InitializerLayout.tensor(name: name, variable: variable, layout: layout))
        return name
    }

    private mutating func addConstant(_ base: String, _ values: [Int]) -> String {
        let name = uniqueName(base)
        initializers.append(
            Onnx_TensorProto.with {
                $0.name = name
                $0.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
                $0.dims = [Int64(values.count)]
                $0.rawData = values.map { Int64($0).littleEndian }.withUnsafeBytes { Data($0) }
            })
        return name
    }

    /// Gives the value `old` (the graph's last) the name `new`, wherever it is produced or read.
    private mutating func rename(_ old: String, to new: String) {
        for index in nodes.indices {
            nodes[index].output = nodes[index].output.map { $0 == old ? new : $0 }
            nodes[index].input = nodes[index].input.map { $0 == old ? new : $0 }
        }
    }

    private func nchw(_ hwc: [Int]) -> [Int] { [hwc[2], hwc[0], hwc[1]] }

    private func valueInfo(_ name: String, shape: [Int]) -> Onnx_ValueInfoProto {
        Onnx_ValueInfoProto.with {
            $0.name = name
            $0.type.tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            $0.type.tensorType.shape.dim =
                [Onnx_TensorShapeProto.Dimension.with { $0.dimParam = ONNXExport.batchDimension }]
                + shape.map { size in Onnx_TensorShapeProto.Dimension.with { $0.dimValue = Int64(size) } }
        }
    }
}

/// A node attribute of the kinds the export writes.
enum Attribute {
    case int(String, Int)
    case ints(String, [Int])
    case float(String, Float)

    var proto: Onnx_AttributeProto {
        Onnx_AttributeProto.with {
            switch self {
            case let .int(name, value):
                $0.name = name
                $0.type = .int
                $0.i = Int64(value)
            case let .ints(name, values):
                $0.name = name
                $0.type = .ints
                $0.ints = values.map(Int64.init)
            case let .float(name, value):
                $0.name = name
                $0.type = .float
                $0.f = value
            }
        }
    }
}
