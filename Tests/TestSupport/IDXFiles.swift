import Datasets
import Foundation

/// An IDX ubyte file with the given shape and bytes, built by hand (independent of `IDX.encode`).
public func idxBytes(type: UInt8 = 0x08, shape: [Int], payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for d in shape { out += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return out + payload
}

/// Images and labels of a small MNIST-like split: pixel = (n * 7 + i) % 256, label = n % 10.
public func syntheticSplit(count: Int, height: Int = 4, width: Int = 3) -> (images: [UInt8], labels: [UInt8]) {
    let size = height * width
    let pixels = (0..<(count * size)).map { UInt8((($0 / size) * 7 + $0 % size) % 256) }
    let labels = (0..<count).map { UInt8($0 % 10) }
    return (idxBytes(shape: [count, height, width], payload: pixels), idxBytes(shape: [count], payload: labels))
}

/// Writes a complete four-file MNIST folder (train `trainCount` samples, test `testCount`).
public func writeMNISTFolder(_ folder: URL, trainCount: Int = 6, testCount: Int = 2, gzip: Bool = false) throws {
    for (split, count) in [(Split.train, trainCount), (Split.test, testCount)] {
        let (images, labels) = syntheticSplit(count: count)
        let suffix = gzip ? ".gz" : ""
        try folder.writeFile(MNISTFolder.canonicalName(split, .images) + suffix, gzip ? Gzip.compress(images) : images)
        try folder.writeFile(MNISTFolder.canonicalName(split, .labels) + suffix, gzip ? Gzip.compress(labels) : labels)
    }
}

/// The `DatasetError` thrown by `body`, or nil if it did not throw one.
public func datasetError<T>(_ body: () throws -> T) -> DatasetError? { thrownError(DatasetError.self, body) }
