/// An ONNX export or check that failed: which file, which layer or graph element, what was expected
/// and what was found.
public struct ONNXFormatError: Error, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Equatable, Sendable {
        /// The model has a layer the ONNX export does not translate (yet).
        case unsupportedLayer
        /// Not an ONNX model file, or one whose protobuf does not decode.
        case malformed
        /// A well-formed ONNX file that does not match its source (graph or initializers).
        case mismatch
    }

    /// The layers the export translates, as an `unsupportedLayer` error's `expected` names them.
    public static let supportedLayers =
        "Conv2D, Dense, BatchNormalization, ReLU, Softmax, Concatenate, Flatten, ZeroPadding2D or a pooling layer"

    /// What went wrong.
    public var reason: Reason
    /// The ONNX file concerned; empty while a model is translated in memory.
    public var file: String
    /// The layer, node or initializer concerned; empty when the whole file is meant.
    public var subject: String
    /// What the export or check needed.
    public var expected: String
    /// What it found instead.
    public var found: String

    /// An error about `subject` (a layer, node or initializer) of `file`.
    public init(_ reason: Reason, file: String = "", subject: String = "", expected: String = "", found: String = "") {
        self.reason = reason
        self.file = file
        self.subject = subject
        self.expected = expected
        self.found = found
    }

    /// One line: the file and subject, then what was expected and found.
    public var description: String {
        let place = [file, subject].filter { !$0.isEmpty }.joined(separator: ", ")
        let what: String
        switch reason {
        case .unsupportedLayer: what = "not exportable to ONNX"
        case .malformed: what = "not a well-formed ONNX model"
        case .mismatch: what = "does not match its source"
        }
        var text = place.isEmpty ? what : "\(place): \(what)"
        if !expected.isEmpty { text += "; expected \(expected)" }
        if !found.isEmpty { text += "; found \(found)" }
        return text
    }
}
