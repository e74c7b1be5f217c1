"""Vision examples (MNIST, CIFAR-10, image folders); importing this package registers their plugins."""

from glossary_exp.vision import cifar10, cnn, folder, mlp, mnist, random_images  # noqa: F401
