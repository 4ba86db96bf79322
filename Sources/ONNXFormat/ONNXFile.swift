import DenseNetEngine
import Foundation
import ReadLimits
import SwiftProtobuf

/// An ONNX model read back for checking (`verify`, tests): its graph's structure, initializers and
/// metadata. The file may be untrusted: the decoder's memory is bounded by the file's size and its
/// nesting depth by `messageDepthLimit`, and every initializer's size is checked against its bytes.
public struct ONNXFile {
    /// One initializer: its name, dimensions, ONNX data type code and raw little-endian bytes.
    public struct Initializer: Equatable {
        /// The initializer's (and graph value's) name.
        public let name: String
        /// Its dimensions, outermost first.
        public let dims: [Int]
        /// ONNX's `TensorProto.DataType` code: 1 float32, 7 int64.
        public let dataType: Int
        /// The values' bytes, little-endian.
        public let rawData: Data
    }

    /// One node: its op type, name, value names and attributes as text (`pads=[0, 0, 1, 1]`).
    public struct Node: Equatable {
        /// The ONNX operator (`Conv`, `BatchNormalization`, ...).
        public let opType: String
        /// The node's name.
        public let name: String
        /// The values it reads.
        public let inputs: [String]
        /// The values it writes.
        public let outputs: [String]
        /// Its attributes, `name=value`, in the file's order.
        public let attributes: [String]
    }

    /// A graph input or output: its name, element type code and dimensions (a number or a symbolic name).
    public struct Value: Equatable {
        /// The value's name.
        public let name: String
        /// ONNX's element type code (1 float32).
        public let elementType: Int
        /// Each dimension: its size, or its symbolic name for a dynamic one (`batch`).
        public let dims: [String]
    }

    /// Deepest message nesting the decoder accepts (ONNX's own files nest a handful of levels).
    static let messageDepthLimit = 32

    let proto: Onnx_ModelProto

    init(proto: Onnx_ModelProto) { self.proto = proto }

    /// Reads and decodes the ONNX file at `path`.
    public init(contentsOf path: String) throws {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw ONNXFormatError(.malformed, file: path, found: "cannot read the file")
        }
        try self.init(bytes: bytes, file: path)
    }

    /// Decodes ONNX protobuf `bytes`; `file` names them in errors.
    public init(bytes: Data, file: String) throws {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = Self.messageDepthLimit
        do {
            proto = try Onnx_ModelProto(serializedBytes: bytes, options: options)
        } catch {
            throw ONNXFormatError(.malformed, file: file, expected: "an ONNX ModelProto", found: "\(error)")
        }
        for tensor in proto.graph.initializer {
            let dims = tensor.dims.map { Int(exactly: $0) ?? -1 }
            guard dims.allSatisfy({ $0 >= 0 }), let elementSize = Self.elementSize(of: tensor.dataType),
                let size = ReadLimits.product(dims, times: elementSize), size == tensor.rawData.count
            else {
                throw ONNXFormatError(
                    .malformed, file: file, subject: "initializer \(tensor.name)",
                    expected: "raw float32 or int64 data of its dims \(tensor.dims)",
                    found: "data type \(tensor.dataType), \(tensor.rawData.count) raw bytes")
            }
        }
    }

    /// The ONNX file `ONNXExport` writes for `model`, in memory (what `verify` compares a file with).
    public init(exporting model: Model, layout: ONNXLayout, source: ONNXSource) throws {
        self.init(proto: try ONNXExport.modelProto(model, layout: layout, source: source))
    }

    private static func elementSize(of dataType: Int32) -> Int? {
        switch Onnx_TensorProto.DataType(rawValue: Int(dataType)) {
        case .float: 4
        case .int64: 8
        default: nil
        }
    }

    /// The IR version.
    public var irVersion: Int { Int(proto.irVersion) }
    /// The default domain's opset, nil when the file imports none.
    public var opset: Int? { proto.opsetImport.first { $0.domain.isEmpty }.map { Int($0.version) } }
    /// The producer's name and version.
    public var producer: String { "\(proto.producerName) \(proto.producerVersion)" }
    /// The model's doc string.
    public var docString: String { proto.docString }
    /// metadata_props as a dictionary.
    public var metadata: [String: String] {
        Dictionary(proto.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
    /// The graph's nodes in order.
    public var nodes: [Node] {
        proto.graph.node.map { node in
            Node(
                opType: node.opType, name: node.name, inputs: node.input, outputs: node.output,
                attributes: node.attribute.map { "\($0.name)=\(Self.text(of: $0))" })
        }
    }
    /// The graph's initializers in order.
    public var initializers: [Initializer] {
        proto.graph.initializer.map {
            Initializer(name: $0.name, dims: $0.dims.map { Int($0) }, dataType: Int($0.dataType), rawData: $0.rawData)
        }
    }
    /// The graph's inputs.
    public var inputs: [Value] { proto.graph.input.map(Self.value) }
    /// The graph's outputs.
    public var outputs: [Value] { proto.graph.output.map(Self.value) }

    private static func value(_ info: Onnx_ValueInfoProto) -> Value {
        Value(
            name: info.name, elementType: Int(info.type.tensorType.elemType),
            dims: info.type.tensorType.shape.dim.map { dimension in
                if case let .dimParam(name) = dimension.value { name } else { String(dimension.dimValue) }
            })
    }

    private static func text(of attribute: Onnx_AttributeProto) -> String {
        switch attribute.type {
        case .int: String(attribute.i)
        case .ints: "\(attribute.ints)"
        case .float: String(attribute.f)
        default: "(\(attribute.type))"
        }
    }

    /// What keeps the graph from being well formed, one sentence each (empty when it is): an opset
    /// import, one float input and output with a dynamic first dimension, unique names, every value
    /// defined before it is read, every output produced.
    public var wellFormednessProblems: [String] {
        var problems: [String] = []
        if opset == nil { problems.append("no default-domain opset import") }
        if proto.irVersion <= 0 { problems.append("no IR version") }
        for value in inputs + outputs where value.elementType != Int(Onnx_TensorProto.DataType.float.rawValue) || value.dims.isEmpty {
            problems.append("graph value \(value.name) is not a float tensor with a shape")
        }
        var defined = Set<String>()
        for name in inputs.map(\.name) + initializers.map(\.name) where !defined.insert(name).inserted {
            problems.append("value \(name) defined twice")
        }
        for node in nodes {
            for input in node.inputs where !defined.contains(input) {
                problems.append("node \(node.name) (\(node.opType)) reads \(input) before it is defined")
            }
            for output in node.outputs where !defined.insert(output).inserted {
                problems.append("node \(node.name) (\(node.opType)) writes \(output), defined already")
            }
        }
        for output in outputs where !defined.contains(output.name) {
            problems.append("graph output \(output.name) is produced by no node")
        }
        return problems
    }

    /// Where this file differs from `expected` (the same model exported anew), one sentence each:
    /// each initializer must match in name, dims, type and every byte; each node in op, values and
    /// attributes; the inputs and outputs in name and shape.
    public func differences(from expected: ONNXFile) -> [String] {
        var differences: [String] = []
        let found = Dictionary(initializers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for tensor in expected.initializers {
            guard let stored = found[tensor.name] else {
                differences.append("initializer \(tensor.name) missing")
                continue
            }
            if stored.dims != tensor.dims || stored.dataType != tensor.dataType {
                differences.append(
                    "initializer \(tensor.name): dims \(stored.dims) type \(stored.dataType), expected \(tensor.dims) type \(tensor.dataType)"
                )
            } else if stored.rawData != tensor.rawData {
                differences.append("initializer \(tensor.name): values differ from the source's bits")
            }
        }
        let expectedNames = Set(expected.initializers.map(\.name))
        for tensor in initializers where !expectedNames.contains(tensor.name) {
            differences.append("initializer \(tensor.name) not in the source model")
        }
        if nodes != expected.nodes {
            let index =
                zip(nodes, expected.nodes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? Swift.min(nodes.count, expected.nodes.count)
            differences.append(
                "graph differs from the source model's from node \(index) on (\(nodes.count) nodes, expected \(expected.nodes.count))")
        }
        if inputs != expected.inputs || outputs != expected.outputs {
            differences.append("graph inputs or outputs differ from the source model's")
        }
        return differences
    }
}
