import ReadLimits

/// Every failure of the Datasets module, as a value with enough context to act on.
///
/// Messages (``description``) name the file and say what was expected and what was found.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The dataset folder does not exist or is not a directory.
    case missingFolder(path: String)
    /// None of the accepted spellings of one of the four MNIST files exists in `folder`.
    /// `file` is the canonical name (e.g. `train-images-idx3-ubyte`); `tried` lists the names looked for.
    case missingFile(file: String, folder: String, tried: [String])
    /// The file could not be opened or read (`reason` is the system's message).
    case unreadable(path: String, reason: String)
    /// The first four bytes are not `00 00 <dtype> <rank>` with a known dtype code.
    case badMagic(path: String, found: [UInt8])
    /// A well-formed IDX file whose element type is not the one this reader needs (e.g. images must be ubyte).
    case wrongDataType(path: String, expected: IDXDataType, found: IDXDataType)
    /// The IDX rank (number of dimensions) is none of the expected ones.
    case wrongRank(path: String, expected: [Int], found: Int)
    /// The file ends before the header or the data its dimensions declare.
    case truncated(path: String, expectedBytes: Int, foundBytes: Int)
    /// More bytes follow the data that the header's dimensions declare.
    case trailingBytes(path: String, expectedBytes: Int, foundBytes: Int)
    /// The declared dimensions are too large to address (their product overflows).
    case tooLarge(path: String, dims: [Int])
    /// Image and label files disagree on the number of samples.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// The gzip stream is damaged (bad header, CRC, truncated member, …).
    case corruptGzip(path: String, reason: String)
    /// A caller-supplied argument is invalid (e.g. a negative limit).
    case invalidArgument(String)
    /// The gzip stream inflates past the read budget (`ReadLimits`: a multiple of the compressed size).
    case inflationBudgetExceeded(path: String, budget: Int)

    /// One line for the command line's stderr, naming the file and what was expected and found.
    public var description: String {
        switch self {
        case .missingFolder(let path):
            return "dataset folder not found: \(path) (expected a directory holding the four MNIST IDX files)"
        case .missingFile(let file, let folder, let tried):
            return "missing \(file) in \(folder) (looked for: \(tried.joined(separator: ", ")))"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .badMagic(let path, let found):
            let hex = found.map { byte in
                let s = String(byte, radix: 16)
                return s.count == 1 ? "0" + s : s
            }.joined(separator: " ")
            return "\(path): not an IDX file (expected magic 00 00 <type 08/09/0b/0c/0d/0e> <rank>, found \(hex.isEmpty ? "nothing" : hex))"
        case .wrongDataType(let path, let expected, let found):
            return "\(path): expected IDX element type \(expected), found \(found)"
        case .wrongRank(let path, let expected, let found):
            let ranks = expected.map(String.init).joined(separator: " or ")
            return "\(path): expected an IDX array of rank \(ranks), found rank \(found)"
        case .truncated(let path, let expectedBytes, let foundBytes):
            return "\(path): truncated: expected \(expectedBytes) bytes (header and data as the dimensions declare), found \(foundBytes)"
        case .trailingBytes(let path, let expectedBytes, let foundBytes):
            return "\(path): expected \(expectedBytes) bytes as the dimensions declare, found \(foundBytes) (extra data after the array)"
        case .tooLarge(let path, let dims):
            return "\(path): dimensions \(dims.map(String.init).joined(separator: "×")) are too large"
        case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
            return "sample count mismatch: \(imagesPath) has \(images) images but \(labelsPath) has \(labels) labels"
        case .corruptGzip(let path, let reason):
            return "\(path): corrupt gzip data: \(reason)"
        case .invalidArgument(let message):
            return "invalid argument: \(message)"
        case .inflationBudgetExceeded(let path, let budget):
            return "\(path): the gzip data inflates past the read budget of \(ReadLimits.describe(bytes: budget)) "
                + "(\(ReadLimits.inflationRatio) × the compressed size; DENSENET_IO_INFLATION_LIMIT raises it, docs/security.md)"
        }
    }
}
