import DenseNetEngine
import Glibc

/// Which half of an MNIST-style dataset.
public enum Split: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The training half: 60,000 samples in MNIST and Fashion-MNIST.
    case train
    /// The test half (`t10k`): 10,000 samples.
    case test

    /// The prefix of the split's file names: `train` or `t10k`.
    public var filePrefix: String {
        switch self {
        case .train: "train"
        case .test: "t10k"
        }
    }

    /// `train` or `test`, as the command line spells the split.
    public var description: String { rawValue }
}

/// How `MNISTFolder.load` scales the files' ubyte pixels into ``LabeledImages``' floats.
extension LabeledImages {
    /// A ubyte pixel scaled to 0…1 exactly as NumPy's `(x / 255.0).astype(np.float32)` does:
    /// divided in float64, then rounded once to float32.
    @inlinable
    public static func normalizedPixel(_ byte: UInt8) -> Float {
        Float(Double(byte) / 255.0)
    }

    /// ``normalizedPixel(_:)`` for all 256 byte values.
    public static let normalizationTable: [Float] = (0...255).map { normalizedPixel(UInt8($0)) }

    /// Scales ubyte pixels to floats with ``normalizedPixel(_:)``.
    public static func normalize(_ bytes: [UInt8]) -> [Float] {
        let table = normalizationTable
        return [Float](unsafeUninitializedCapacity: bytes.count) { out, initialized in
            table.withUnsafeBufferPointer { lut in
                bytes.withUnsafeBufferPointer { src in
                    for i in 0..<src.count { out[i] = lut[Int(src[i])] }
                }
            }
            initialized = bytes.count
        }
    }
}

/// A folder holding the four MNIST-format files, e.g. Fashion-MNIST as Debian's `dataset-fashion-mnist` installs it:
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`,
/// each raw or gzip-compressed, named with or without `.gz`; the dotted spelling `train-images.idx3-ubyte`
/// of some mirrors is accepted too.
public struct MNISTFolder: Equatable, Sendable {
    /// Where Debian's `dataset-fashion-mnist` installs Fashion-MNIST.
    public static let defaultPath = "/usr/share/datasets/fashion-mnist"

    /// Which of a split's two files: the images (`idx3`) or the labels (`idx1`).
    public enum Kind: String, Sendable, CaseIterable {
        /// The `idx3` file of 28×28 ubyte images.
        case images
        /// The `idx1` file of ubyte class labels.
        case labels
    }

    /// The folder's path; nothing is checked until the files are looked for.
    public var path: String

    /// The folder at `path`, by default Debian's Fashion-MNIST; it need not exist yet (see `exists`).
    public init(_ path: String = MNISTFolder.defaultPath) {
        self.path = path
    }

    /// True when `path` is an existing directory.
    public var exists: Bool { Self.isDirectory(path) }

    /// The canonical file name, e.g. `t10k-labels-idx1-ubyte`.
    public static func canonicalName(_ split: Split, _ kind: Kind) -> String {
        "\(split.filePrefix)-\(kind.rawValue)-\(kind == .images ? "idx3" : "idx1")-ubyte"
    }

    /// The names looked for, in order of preference: images of several channels are rank-4 IDX
    /// arrays, which may be named `idx4`.
    public static func acceptedNames(_ split: Split, _ kind: Kind) -> [String] {
        let ranks = kind == .images ? ["idx3", "idx4"] : ["idx1"]
        return ranks.flatMap { rank in
            let plain = "\(split.filePrefix)-\(kind.rawValue)-\(rank)-ubyte"
            let dotted = "\(split.filePrefix)-\(kind.rawValue).\(rank)-ubyte"
            return [plain, plain + ".gz", dotted, dotted + ".gz"]
        }
    }

    /// The path of one of the four files.
    public func locate(_ split: Split, _ kind: Kind) throws(DatasetError) -> String {
        guard exists else { throw .missingFolder(path: path) }
        let names = Self.acceptedNames(split, kind)
        for name in names {
            let candidate = path.hasSuffix("/") ? path + name : path + "/" + name
            if Self.isRegularFile(candidate) { return candidate }
        }
        throw .missingFile(file: Self.canonicalName(split, kind), folder: path, tried: names)
    }

    /// Loads a split: images as N×H×W×C float32 in 0…1 (``DenseNetEngine/LabeledImages/normalizedPixel(_:)``),
    /// ready for `Trainer` — C = 1 for MNIST's rank-3 (N×H×W) image files, the last dimension of a
    /// rank-4 (N×H×W×C, channels last) one; labels as class indices.
    /// - Parameters:
    ///   - split: the training or the test half (`train-…` or `t10k-…` files).
    ///   - limit: load only the first `limit` samples (nil: all; must be ≥ 0).
    public func load(_ split: Split, limit: Int? = nil) throws(DatasetError) -> LabeledImages {
        if let limit, limit < 0 { throw .invalidArgument("limit must be ≥ 0, got \(limit)") }
        let imagesPath = try locate(split, .images)
        let labelsPath = try locate(split, .labels)
        // Headers first, so mismatches are reported before any bulk data is read.
        var images = try IDXReader(source: openFile(path: imagesPath), path: imagesPath)
        try images.expect(type: .uint8, ranks: [3, 4])
        var labels = try IDXReader(source: openFile(path: labelsPath), path: labelsPath)
        try labels.expect(type: .uint8, ranks: [1])
        guard images.header.shape[0] == labels.header.shape[0] else {
            throw .countMismatch(
                imagesPath: imagesPath, images: images.header.shape[0],
                labelsPath: labelsPath, labels: labels.header.shape[0])
        }
        let (labelCount, labelBytes) = try labels.readPayload(limit: limit)
        let (count, pixelBytes) = try images.readPayload(limit: limit)
        assert(labelCount == count)
        do {
            return try LabeledImages(
                images: LabeledImages.normalize(pixelBytes), labels: labelBytes.map(Int.init),
                sampleShape: [images.header.shape[1], images.header.shape[2], images.header.shape.count == 4 ? images.header.shape[3] : 1])
        } catch {
            // The payloads were read for the headers' shapes, so their sizes agree; kept as an error all the same.
            throw .invalidArgument("\(imagesPath): \(error)")
        }
    }

    private static func fileType(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    static func isDirectory(_ path: String) -> Bool { fileType(path) == S_IFDIR }
    static func isRegularFile(_ path: String) -> Bool { fileType(path) == S_IFREG }
}
