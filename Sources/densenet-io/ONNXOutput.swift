import ArgumentParser
import DenseNetEngine
import Foundation
import KerasFormat
import ONNXFormat

/// What `convert` and `export` write: a weight file of one of the formats, or an ONNX model (a graph
/// for inference, not a weight file: nothing reads it back as weights).
enum OutputTarget: Equatable {
    case weights(WeightFileFormat)
    case onnx

    /// The name `--to` takes for an ONNX model, and the ending its files have.
    static let onnxName = "onnx"
    static let onnxEnding = ".onnx"

    /// `--to NAME` (any letter case), else the ending of `output`; `outputFormat(named:for:)`'s
    /// refusals for everything but ONNX.
    init(named name: String?, for output: String) throws {
        let endsInONNX = output.lowercased().hasSuffix(Self.onnxEnding)
        if name?.lowercased() == Self.onnxName || (name == nil && endsInONNX) {
            try checkOutputFolder(output)
            if let ending = WeightFileFormat.fileExtension(of: output) {
                throw ValidationError(
                    "--to onnx writes \(Self.onnxEnding) files, but \(output) ends in \(ending); name it \(output.dropLast(ending.count))\(Self.onnxEnding)"
                )
            }
            self = .onnx
        } else {
            if endsInONNX, let name {
                throw ValidationError("--to \(name) does not write \(Self.onnxEnding) files; leave out --to for an ONNX model")
            }
            self = .weights(try outputFormat(named: name, for: output))
        }
    }
}

/// `--onnx-layout nhwc|nchw`, for the commands that can write ONNX.
struct ONNXOptions: ParsableArguments {
    @Option(
        name: .customLong("onnx-layout"),
        help: ArgumentHelp(
            "ONNX output only: the input's layout, nhwc (as the Keras model, one Transpose at the entry; the default) or nchw (PyTorch's).",
            valueName: "nhwc|nchw"),
        transform: { text in
            guard let layout = ONNXLayout(rawValue: text.lowercased()) else {
                throw ValidationError("--onnx-layout takes nhwc or nchw, got \(text)")
            }
            return layout
        })
    var layout: ONNXLayout = .nhwc
}

/// Writes `model` as ONNX to `output` (atomically), reads the file back and fails with exit status 1
/// unless it is well formed and equal, graph and initializer bytes, to the model exported anew.
/// Returns the file as read back.
func saveONNXVerified(_ model: Model, layout: ONNXLayout, source: ONNXSource, to output: String) throws -> ONNXFile {
    let written = try ONNXExport.write(model, layout: layout, source: source, to: output)
    let readBack = try ONNXFile(contentsOf: output)
    let problems = readBack.wellFormednessProblems + readBack.differences(from: written)
    guard problems.isEmpty else {
        FileHandle.standardError.write(
            Data("densenet-io: \(output): did not read back as written: \(problems.joined(separator: "; "))\n".utf8))
        throw ExitCode(1)
    }
    return readBack
}

extension ONNXFile {
    /// One line for the command's summary: opset, nodes, initializers, input and output shapes.
    var summary: String {
        func shape(_ value: Value) -> String { "\(value.name) [\(value.dims.joined(separator: ", "))]" }
        return
            "opset \(opset ?? 0), \(nodes.count) nodes, \(initializers.count) initializers, input \(inputs.map(shape).joined()), output \(outputs.map(shape).joined())"
    }
}
