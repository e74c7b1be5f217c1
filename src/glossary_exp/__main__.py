from glossary_exp.cli import main

main()
