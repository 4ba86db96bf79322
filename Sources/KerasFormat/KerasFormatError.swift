import HDF5

/// A Keras file that does not fit, or could not be read or written: says which file, which layer
/// and weight, what was expected and what was found.
public struct KerasFormatError: Error, Equatable, CustomStringConvertible {
    /// What kind of mismatch or failure; `description` words it.
    public enum Reason: Equatable, Sendable {
        /// Not a file of any format the toolkit knows.
        case unknownFormat
        /// A Keras file, but of another kind than the operation needs.
        case wrongFormat
        /// The model expects a layer the file lacks.
        case missingLayer
        /// The file has a layer the model does not.
        case extraLayer
        /// The model and the file hold different numbers of layers.
        case layerCountMismatch
        /// A layer holds a different number of weights than the model's layer.
        case weightCountMismatch
        /// A weight's shape differs from the model's variable.
        case shapeMismatch
        /// A weight's element type is not one the toolkit reads for it (e.g. not float32).
        case dataTypeMismatch
        /// A required group, dataset or attribute is absent or malformed.
        case malformed
        /// The underlying HDF5 (or zip) operation failed.
        case io
        /// The file asks for something a reader never does, e.g. a `.pth` pickle calling a function
        /// outside `torch.load(weights_only=True)`'s allow-list.
        case refused
    }

    /// The kind of problem.
    public var reason: Reason
    /// The file concerned, as the user named it.
    public var file: String
    /// The layer (and weight) concerned, as Keras names them; empty when the whole file is meant.
    public var layer: String
    /// The weight's name within `layer`, e.g. `kernel:0` or `vars/0`; empty when the whole layer is meant.
    public var weight: String
    /// What the model or the format needs (a shape, a count, a format); empty when it goes without saying.
    public var expected: String
    /// What the file holds instead, or the underlying failure's message for `io`.
    public var found: String

    /// An error about `file` (and `layer`, `weight`) for `reason`, with what was expected and found.
    public init(
        _ reason: Reason, file: String, layer: String = "", weight: String = "",
        expected: String = "", found: String = ""
    ) {
        self.reason = reason
        self.file = file
        self.layer = layer
        self.weight = weight
        self.expected = expected
        self.found = found
    }

    /// Wraps an HDF5 failure with the Keras object it concerned.
    init(_ error: HDF5Error, file: String, layer: String = "", weight: String = "") {
        self.init(.io, file: file, layer: layer, weight: weight, found: error.description)
    }

    /// One line for the user: the file, layer and weight, what went wrong, what was expected and found.
    public var description: String {
        var subject = file
        if !layer.isEmpty { subject += ", layer \(layer)" }
        if !weight.isEmpty { subject += ", weight \(weight)" }
        let what: String
        switch reason {
        case .unknownFormat: what = "not a Keras, HDF5 or safetensors file the toolkit knows"
        case .wrongFormat: what = "wrong kind of Keras file"
        case .missingLayer: what = "missing from the file"
        case .extraLayer: what = "in the file but not in the model"
        case .layerCountMismatch: what = "layer count mismatch"
        case .weightCountMismatch: what = "weight count mismatch"
        case .shapeMismatch: what = "shape mismatch"
        case .dataTypeMismatch: what = "data type mismatch"
        case .malformed: what = "malformed"
        case .io: what = "cannot be read or written"
        case .refused: what = "refused by the restricted unpickler (docs/security.md)"
        }
        var message = "\(subject): \(what)"
        if !expected.isEmpty { message += "; expected \(expected)" }
        if !found.isEmpty { message += reason == .io ? ": \(found)" : ", found \(found)" }
        return message
    }
}
