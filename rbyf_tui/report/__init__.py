"""`rbyf report`: the results as a self-contained HTML page or Markdown for a blog."""
