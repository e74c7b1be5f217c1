"""Vision examples (MNIST, CIFAR-10, image folders); each module registers its plugins."""
