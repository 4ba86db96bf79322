import Foundation

/// Files under the repository's Fixtures/ folder, written by real Keras and h5py.
public enum Fixture {
    public static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    public static func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }

    public static let tfKerasWeights = path("keras/tutorial_tfkeras.h5")
    public static let tfKerasReference = path("keras/tutorial_tfkeras_io.h5")
    public static let keras3Weights = path("keras/tutorial_keras3.weights.h5")
    public static let keras3Reference = path("keras/tutorial_keras3_io.h5")
    public static let keras3Archive = path("keras/tutorial_keras3.keras")
    /// Written by h5py (Fixtures/hdf5/make_h5py_fixture.py).
    public static let h5pyWritten = path("hdf5/h5py_written.h5")
    /// The small MNIST-format IDX files (raw and gzip).
    public static let idxFolder = path("idx")
}
