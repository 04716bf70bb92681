"""Robustness benchmark: noise thresholds, robust accuracy, adversarial training, few-shot accuracy.

Trains a small MLP and CNN on balanced EMNIST, then prints
* the clean accuracy and the halfway threshold of each corruption,
* FGSM and PGD robust accuracy at a few epsilons,
* clean and robust accuracy after FGSM adversarial training of the CNN,
* few-shot accuracy (5-way, K = 1, 5, 10, 20) on 10 balanced classes the CNN never saw.

Run it (long; nice it on a shared machine):
    EMNIST_TF_DATA=/path/to/emnist nice -n 10 python benchmarks/robustness.py --train-examples 20000 --epochs 3
Figures are written to --out when given.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def _train(model, images, labels, epochs, seed):
    import keras

    from emnist_tf.modeling.training import compile_model

    keras.utils.set_random_seed(seed)
    compile_model(model, learning_rate=1e-3)
    model.fit(images, labels, epochs=epochs, batch_size=64, verbose=0)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-examples", type=int, default=20000)
    parser.add_argument("--test-examples", type=int, default=2000)
    parser.add_argument("--attack-examples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from emnist_tf.data import class_names, load_arrays
    from emnist_tf.interpret import fewshot
    from emnist_tf.modeling.models import build_cnn, build_mlp
    from emnist_tf.robustness import adversarial, corruptions
    from emnist_tf.robustness.attacks import ATTACKS, options_for

    started = time.perf_counter()
    images, labels = load_arrays("balanced", "train", limit=args.train_examples, seed=args.seed)
    test_images, test_labels = load_arrays("balanced", "test", limit=args.test_examples, seed=args.seed)
    models = {
        "MLP": build_mlp(hidden_units=(256, 128), batch_norm=False, dropout_rate=0.0, seed=args.seed),
        "CNN": build_cnn(filters=(32, 64), dense_units=128, batch_norm=False, dropout_rate=0.2, seed=args.seed),
    }
    for name, model in models.items():
        _train(model, images, labels, args.epochs, args.seed)
        print(
            f"{name}: clean test accuracy {corruptions.accuracy(model, test_images, test_labels):.3f} "
            f"({len(labels)} training images, {args.epochs} epochs)"
        )

    curves = {
        name: corruptions.noise_curves(model, test_images, test_labels, seed=args.seed)
        for name, model in models.items()
    }
    print("\nHalfway thresholds (psychometric fit):")
    for name, by_corruption in curves.items():
        fits = {corruption: corruptions.fit_curve(curve) for corruption, curve in by_corruption.items()}
        print(f"  {name}: " + ", ".join(f"{corruption} {fit.threshold:.3f}" for corruption, fit in fits.items()))

    epsilons = [0.0, 0.02, 0.05, 0.1, 0.2]
    attacked = (test_images[: args.attack_examples], test_labels[: args.attack_examples])
    epsilon_curves = {}
    print(f"\nRobust accuracy on {len(attacked[1])} test images (epsilons {epsilons}):")
    for name, model in models.items():
        epsilon_curves[name] = {
            method: adversarial.robust_accuracy_curve(
                model, *attacked, epsilons, method=method, seed=args.seed, **options_for(method, {"steps": 20})
            )
            for method in ATTACKS
        }
        for method, curve in epsilon_curves[name].items():
            print(f"  {name} {method.upper()}: " + ", ".join(f"{value:.3f}" for value in curve.accuracies))

    defended = build_cnn(filters=(32, 64), dense_units=128, batch_norm=False, dropout_rate=0.2, seed=args.seed)
    adversarial.adversarial_training(
        defended, images, labels, epsilon=0.1, method="fgsm", epochs=args.epochs, batch_size=64, seed=args.seed
    )
    table = adversarial.defence_table(
        {"CNN": models["CNN"], "CNN + FGSM training": defended}, *attacked, 0.1, steps=20, seed=args.seed
    )
    print("\nAdversarial training (epsilon 0.1):")
    for name, row in table.items():
        print(f"  {name}: " + ", ".join(f"{key} {value:.3f}" for key, value in row.items()))

    held_out = fewshot.held_out_classes(47, count=10, seed=args.seed)
    seen = np.setdiff1d(np.arange(47), held_out)
    train_images, train_labels = fewshot.select_classes(images, labels, seen)
    pool_images, pool_labels = fewshot.select_classes(images, labels, held_out, relabel=False)
    cnn = _train(
        build_cnn(
            num_classes=len(seen), filters=(32, 64), dense_units=128, batch_norm=False, dropout_rate=0.2, seed=args.seed
        ),
        train_images,
        train_labels,
        args.epochs,
        args.seed,
    )
    features = fewshot.feature_sets({"CNN": cnn}, pool_images, seed=args.seed)
    results = fewshot.evaluate_fewshot(features, pool_labels, held_out, episodes=args.episodes, seed=args.seed)
    print(
        f"\nFew-shot, 5-way, {args.episodes} episodes, 10 unseen classes "
        f"({''.join(np.array(class_names('balanced'))[held_out])}):"
    )
    print(fewshot.fewshot_table(results))

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        corruptions.plot_noise_curves(curves).savefig(args.out / "noise_curves.png", dpi=110)
        adversarial.plot_epsilon_curves(epsilon_curves).savefig(args.out / "epsilon_curves.png", dpi=110)
        fewshot.plot_fewshot(results).savefig(args.out / "fewshot.png", dpi=110)
        print(f"\nfigures written to {args.out}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
