"""The shipped model: its ONNX export agrees with the Keras model, and its recorded scores hold."""

import json

import numpy as np

from recognizer.classifier import Classifier, read
from recognizer.modelfiles import ModelFiles


def test_onnx_export_matches_keras_on_the_whole_test_set(shipped_model, mnist):
    from recognizer.native import import_keras

    keras = import_keras()

    files = ModelFiles(shipped_model.parent)
    model = keras.models.load_model(files.keras)
    images = mnist["x_test"]
    keras_probabilities = model.predict(images[..., None], batch_size=1000, verbose=0)
    onnx_probabilities = np.concatenate(
        [Classifier(files.onnx).probabilities(images[i : i + 1000]) for i in range(0, 10000, 1000)]
    )
    assert onnx_probabilities.shape == (10000, 11)
    assert np.array_equal(keras_probabilities.argmax(1), onnx_probabilities.argmax(1))
    assert np.abs(keras_probabilities - onnx_probabilities).max() < 1e-4


def test_shipped_model_meets_its_accuracy_targets(shipped_model, mnist):
    metadata = json.loads(shipped_model.with_suffix(".json").read_text())
    probabilities = Classifier(shipped_model).probabilities(mnist["x_test"])
    accuracy = float(np.mean(probabilities.argmax(1) == mnist["y_test"]))
    assert accuracy == metadata["test_accuracy"] or abs(accuracy - metadata["test_accuracy"]) < 2e-4
    # Issue 2's 99.6%, as `recognizer run` reads digits ("not a digit" only at p >= 0.7) ...
    assert float(np.mean(read(probabilities)[0] == mnist["y_test"])) >= 0.996
    # ... and by plain argmax over all 11 classes, where a digit called "not a digit" by the
    # slightest margin is wrong (the shipped model: 99.54%; the one before it: 99.61%).
    assert accuracy >= 0.995
    assert metadata["perturbed_accuracy"] >= 0.97
