"""The leaderboard and the screens it opens (matrix, chart, compare, one answer), all read
through the app's store: base.py what they share, data.py what they load, styles.py how a
score and an answer look, grid.py the score grid."""
