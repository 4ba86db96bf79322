import HDF5

/// A Keras file that does not fit, or could not be read or written: says which file, which layer
/// and weight, what was expected and what was found.
public struct KerasFormatError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// Not a file of any format the toolkit knows.
        case unknownFormat
        /// A Keras file, but of another kind than the operation needs.
        case wrongFormat
        /// The model expects a layer the file lacks.
        case missingLayer
        /// The file has a layer the model does not.
        case extraLayer
        case layerCountMismatch
        case weightCountMismatch
        case shapeMismatch
        case dataTypeMismatch
        /// A required group, dataset or attribute is absent or malformed.
        case malformed
        /// The underlying HDF5 (or zip) operation failed.
        case io
        /// The file asks for something a reader never does, e.g. a `.pth` pickle calling a function
        /// outside `torch.load(weights_only=True)`'s allow-list.
        case refused
    }

    public var reason: Reason
    public var file: String
    /// The layer (and weight) concerned, as Keras names them; empty when the whole file is meant.
    public var layer: String
    public var weight: String
    public var expected: String
    public var found: String

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
