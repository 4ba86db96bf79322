// swift-tools-version:6.1
import PackageDescription

// Layers, bottom to top (imports point one way):
//   CHDF5 (C shim) → HDF5 (h5py's nouns, no Keras) ───┐
//   CBLAS, CKernels → DenseNetEngine (math, no files) ─┼→ KerasFormat (Keras names and layouts)
//   CZlibShim → Datasets (IDX image files)            └─ ZIPFoundation (.keras archives)
//   TrainingRecords (CSV, history, TensorBoard files)
//                                                                 ↓
//                                                       densenet-io (CLI wiring only)
let package = Package(
    name: "densenet-io",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "DenseNetEngine", targets: ["DenseNetEngine"]),
        .library(name: "KerasFormat", targets: ["KerasFormat"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "TrainingRecords", targets: ["TrainingRecords"]),
        .executable(name: "densenet-io", targets: ["densenet-io"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlibShim", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "CKernels"),
        .target(name: "DenseNetEngine", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Datasets", dependencies: ["CZlibShim", "DenseNetEngine"]),
        .target(name: "KerasFormat", dependencies: ["HDF5", "DenseNetEngine", "ZIPFoundation"]),
        // Keras' CSVLogger, History and TensorBoard records of a run, and their plot; Foundation only.
        .target(name: "TrainingRecords"),
        .executableTarget(
            name: "densenet-io",
            dependencies: [
                "HDF5", "DenseNetEngine", "KerasFormat", "Datasets", "TrainingRecords",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Fixture paths and an h5dump-like structure listing, shared by the test targets.
        .target(name: "TestSupport", dependencies: ["HDF5"], path: "Tests/TestSupport"),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"], resources: []),
        .testTarget(name: "DenseNetEngineTests", dependencies: ["DenseNetEngine", "HDF5"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "KerasFormatTests", dependencies: ["KerasFormat", "HDF5", "DenseNetEngine", "ZIPFoundation", "TestSupport"]),
        .testTarget(name: "TrainingRecordsTests", dependencies: ["TrainingRecords", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["densenet-io", "HDF5", "KerasFormat", "TrainingRecords", "TestSupport"]),
    ]
)
