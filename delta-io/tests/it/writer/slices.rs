//! A file read slice by slice (one row group each, as parallel scans decode
//! it) gives the rows of reading it whole, deletion vectors included: each
//! slice knows the file index of its first row.

use std::sync::Arc;

use delta_io::writer::WriterOptions;
use delta_io::{ColumnMapping, FileSlice, ReadPlan, open_file};
use delta_log::DeletionVectorDescriptor;
use delta_schema::{DataType, StructType};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use roaring::RoaringTreemap;

use super::{batch, field, memory, read_back, write_all};

/// An inline deletion vector of these rows.
fn inline_dv(rows: &[u64]) -> DeletionVectorDescriptor {
    let bitmap: RoaringTreemap = rows.iter().copied().collect();
    let mut data = 1681511377u32.to_le_bytes().to_vec();
    bitmap.serialize_into(&mut data).unwrap();
    let size = data.len();
    data.resize(size.div_ceil(4) * 4, 0);
    DeletionVectorDescriptor {
        storage_type: "i".into(),
        path_or_inline_dv: z85::encode(&data),
        offset: None,
        size_in_bytes: size as i32,
        cardinality: rows.len() as i64,
    }
}

fn ids(batches: &[arrow::record_batch::RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect()
}

#[tokio::test]
async fn slices_read_like_the_whole_file_with_deletion_vectors() {
    let store: Arc<dyn ObjectStore> = memory();
    let root = Path::from("t");
    let schema = StructType::new([field("id", DataType::LONG)]);
    let batches: Vec<_> = (0..10)
        .map(|b| {
            let lines: String = (b * 500..b * 500 + 500)
                .map(|i| format!("{{\"id\":{i}}}\n"))
                .collect();
            batch(&schema, &lines)
        })
        .collect();
    let options = WriterOptions {
        max_row_group_rows: 1000,
        ..WriterOptions::default()
    };
    let mut adds = write_all(
        &store,
        &root,
        &schema,
        &[],
        ColumnMapping::None,
        options,
        &batches,
    )
    .await;
    assert_eq!(adds.len(), 1);
    // rows deleted at the edges of row groups and inside them
    let deleted = [0, 999, 1000, 2500, 3999, 4000, 4999];
    adds[0].deletion_vector = Some(inline_dv(&deleted));
    let whole = read_back(&store, &root, &schema, &[], ColumnMapping::None, &adds).await;
    let expected: Vec<i64> = (0..5000)
        .filter(|i| !deleted.contains(&(*i as u64)))
        .collect();
    assert_eq!(ids(&whole), expected);

    let plan = Arc::new(ReadPlan::new(&schema, &[], ColumnMapping::None, None).unwrap());
    let files: delta_log::ActiveFiles = adds.iter().cloned().collect();
    let slices = open_file(Arc::clone(&store), &root, plan, files.get(0).unwrap())
        .await
        .unwrap();
    assert_eq!(slices.len(), 5, "one slice per row group");
    // decoded in reverse order, each on its own: every slice still drops its own rows
    let mut pieces = Vec::new();
    for slice in slices.into_iter().rev() {
        let batches: Vec<_> = FileSlice::read(slice).unwrap().try_collect().await.unwrap();
        pieces.push(ids(&batches));
    }
    pieces.reverse();
    assert_eq!(pieces.concat(), expected);
}
